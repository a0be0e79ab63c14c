/*
 * ids: the identifiers of incidents (INC + 12 digits), problems (PBI + 12 digits) and
 * breaches (BRE + 12 digits).
 * The daemon assigns the numbers in order from 1; 0 is never a valid id.
 */
#ifndef INCIDENTD_PROTO_IDS_H
#define INCIDENTD_PROTO_IDS_H

#include <stdint.h>

/* Size of a buffer that holds a formatted id, NUL included. */
#define ID_BUFSZ 16

/* The largest number an id can carry (12 digits). */
#define ID_MAX 999999999999ULL

typedef enum { ID_INCIDENT, ID_PROBLEM, ID_BREACH } id_kind_t;

/*
 * Formats id number n (1..ID_MAX) of the given kind, "INC000000000042", into out.
 * Returns out.
 */
char *id_format(id_kind_t kind, uint64_t n, char out[ID_BUFSZ]);

/*
 * Parses an id of the given kind: exactly the prefix and 12 digits, number not 0.
 * Returns 0 and stores *n_out, or -EINVAL.
 */
int id_parse(id_kind_t kind, const char *text, uint64_t *n_out);

#endif
