/* status: the daemon's version, uptime and counters as aligned key/value lines. */
#include <stdbool.h>
#include <string.h>

#include "client/args.h"
#include "client/commands.h"
#include "client/render.h"
#include "proto/op.h"

/* Room for the known members plus any the daemon adds later. */
#define STATUS_MAX_LINES 32

/* True for the members every reply has, which say nothing about the daemon. */
static bool s_envelope(const char *key)
{
	return strcmp(key, "ok") == 0 || strcmp(key, "id") == 0;
}

/*
 * The known counters in a fixed order (uptime as a duration), then any other member the
 * daemon sent, so that a newer daemon's counters are not hidden.
 */
static void s_render(const json_t *reply, void *arg)
{
	(void)arg;
	static const char *const order[] = {"version",  "uptime_s", "incidents", "open",  "resolved",
					    "closed",   "problems", "breaches",  "events"};
	enum { KNOWN = sizeof order / sizeof order[0] };
	char bufs[STATUS_MAX_LINES][RENDER_BUFSZ];
	const char *keys[STATUS_MAX_LINES], *values[STATUS_MAX_LINES];
	size_t n = 0;
	for (size_t i = 0; i < KNOWN; i++) {
		const json_t *v = json_object_get(reply, order[i]);
		if (v == NULL)
			continue;
		bool uptime = strcmp(order[i], "uptime_s") == 0 && json_is_integer(v);
		keys[n] = uptime ? "uptime" : order[i];
		values[n] = uptime ? render_duration(json_integer_value(v) * 1000, 0, bufs[n])
				   : render_value(reply, order[i], bufs[n]);
		n++;
	}
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)reply, key, v) {
		size_t i = 0;
		while (i < KNOWN && strcmp(order[i], key) != 0)
			i++;
		if (i < KNOWN || s_envelope(key) || n == STATUS_MAX_LINES)
			continue;
		keys[n] = key;
		values[n] = render_value(reply, key, bufs[n]);
		n++;
	}
	render_pairs(stdout, n, keys, values);
}

int cmd_status(cli_t *cli, int argc, char **argv)
{
	static const args_def_t def = {0};
	return args_run_request(cli, argc, argv, OP_STATUS, &def, s_render, NULL);
}
