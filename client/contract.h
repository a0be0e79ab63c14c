/*
 * contract: what the contract fixes for incidentctl, in one place for the parser, the commands
 * and the help: the default endpoints and timeout, the words flags take and the ranges of
 * numbers. Macros only.
 */
#ifndef INCIDENTD_CLIENT_CONTRACT_H
#define INCIDENTD_CLIENT_CONTRACT_H

#define CLI_DEFAULT_API "tcp://127.0.0.1:7420"
#define CLI_DEFAULT_PUBLISH "tcp://127.0.0.1:7421"
#define CLI_DEFAULT_TIMEOUT_MS 5000

/*
 * What the contract fixes, as the client checks it before sending and as its help shows it:
 * the words a flag takes (comma-separated) and the ranges of numbers. What the daemon's
 * configuration decides (stage and rule names) is left for the daemon to check.
 */
#define CLI_SOURCES "provider, monitoring, user, operator"
#define CLI_LIST_STATUSES "open, resolved, closed, all"
#define CLI_PROBLEM_STATUSES "open, known_error, resolved, closed"
#define CLI_CATEGORY_MAX 5
#define CLI_LIST_LIMIT_DEFAULT 100 /* list and problem list */
#define CLI_LIST_LIMIT_MAX 1000
#define CLI_BREACHES_LIMIT_DEFAULT 1000
#define CLI_BREACHES_LIMIT_MAX 10000

#endif
