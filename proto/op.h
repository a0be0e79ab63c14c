/*
 * op: the names of the operations of the API, defined once for the daemon and the client.
 * proto/PROTOCOL.md describes each.
 */
#ifndef INCIDENTD_PROTO_OP_H
#define INCIDENTD_PROTO_OP_H

#define OP_EVENT "event"
#define OP_GET "get"
#define OP_LIST "list"
#define OP_BREACHES "breaches"
#define OP_DEADLINES "deadlines"
#define OP_PROBLEM_CREATE "problem.create"
#define OP_PROBLEM_UPDATE "problem.update"
#define OP_PROBLEM_LINK "problem.link"
#define OP_PROBLEM_UNLINK "problem.unlink"
#define OP_PROBLEM_GET "problem.get"
#define OP_PROBLEM_LIST "problem.list"
#define OP_REPORT "report"
#define OP_STATUS "status"

#endif
