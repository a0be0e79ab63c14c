/*
 * duration: lengths of time as people write them on a command line: a whole number and a
 * clock unit, "30m", "2h", "1d", "1500ms".
 *
 * Pure code. (The configuration's durations add working-time units, "2wd", and are parsed by
 * config_duration_parse(); these are plain clock time.)
 */
#ifndef INCIDENTD_PROTO_DURATION_H
#define INCIDENTD_PROTO_DURATION_H

#include <stdint.h>

/*
 * Parses "<digits><unit>", unit one of ms, s, m, h, d (0 is allowed: "0s"), into milliseconds.
 * Returns 0 and stores *ms_out, or -EINVAL for anything else (no unit, another unit, a sign,
 * spaces, a value past INT64_MAX ms) and leaves *ms_out untouched.
 */
int duration_parse_ms(const char *text, int64_t *ms_out);

#endif
