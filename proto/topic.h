/*
 * topic: the topics of the publish socket, defined once for those that publish them and those
 * that must know them all (proto/PROTOCOL.md, "Publish socket").
 */
#ifndef INCIDENTD_PROTO_TOPIC_H
#define INCIDENTD_PROTO_TOPIC_H

#define TOPIC_INCIDENT_OPENED "incident.opened"
#define TOPIC_INCIDENT_STAGE "incident.stage"
#define TOPIC_PROBLEM_LINKED "problem.linked"
#define TOPIC_HOOK_GAVE_UP "hook.gave_up"
/* A breach is published on this prefix and its rule's name: breach.provider_notification. */
#define TOPIC_BREACH_PREFIX "breach."

/* Every topic of a fixed name, as an initializer of a const char *[] */
#define TOPIC_FIXED_NAMES                                                                  \
	{ TOPIC_INCIDENT_OPENED, TOPIC_INCIDENT_STAGE, TOPIC_PROBLEM_LINKED, TOPIC_HOOK_GAVE_UP }

#endif
