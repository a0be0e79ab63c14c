/*
 * fuzz_wire_scan: proto/wire_scan.c, the fast path of "event" requests, against the general
 * path it stands in for (proto/wire.c on jansson), on any frame.
 *
 * The one rule of wire_scan.h: whenever wire_event_scan() accepts a frame,
 * wire_request_decode() + wire_event_decode() accept it too and yield the same values, and
 * the scanned "id" is the exact text json_dumps() prints for jansson's id. The frame is the
 * input itself (libFuzzer's exact-size heap copy), so AddressSanitizer catches a read past its
 * end. The general decoder runs on every frame either way.
 */
#include "tests/fuzz/fuzz.h"

#include <stdbool.h>

#include "proto/wire.h"
#include "proto/wire_scan.h"

static bool s_same_text(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

static void s_check_same_event(const wire_event_t *a, const wire_event_t *b)
{
	static const char *const names[] = { "provider", "event_id", "ref", "stage",
					     "title", "service", "description" };
	const char *sa[] = { a->provider, a->event_id, a->ref, a->stage,
			     a->title, a->service, a->description };
	const char *sb[] = { b->provider, b->event_id, b->ref, b->stage,
			     b->title, b->service, b->description };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!s_same_text(sa[i], sb[i]))
			FUZZ_FAIL("%s: scanned \"%s\", jansson \"%s\"", names[i],
				  sa[i] ? sa[i] : "(null)", sb[i] ? sb[i] : "(null)");
	if (a->has_at != b->has_at || a->at_ms != b->at_ms || a->category != b->category ||
	    a->has_major != b->has_major || a->major != b->major || a->source != b->source)
		FUZZ_FAIL("scalar fields differ");
}

/* The scanned id text (NULL when none) is jansson's id, printed compactly. */
static void s_check_same_id(const char *id, size_t id_len, const json_t *req)
{
	json_t *want = json_object_get(req, "id");
	if ((id == NULL) != (want == NULL) || (id == NULL) != (id_len == 0))
		FUZZ_FAIL("id presence differs");
	if (!want)
		return;
	char *dump = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!dump || strlen(dump) != id_len || memcmp(dump, id, id_len) != 0)
		FUZZ_FAIL("id: scanned %.*s, jansson prints %s", (int)id_len, id,
			  dump ? dump : "(null)");
	free(dump);
}

/* The general path on its own: it must not crash, and an error is a wire error. */
static json_t *s_decode(const char *frame, size_t len, const char **op, wire_event_t *ev,
			bool *is_event)
{
	json_t *req = NULL, *id = NULL;
	wire_error_t err;
	*is_event = false;
	if (wire_request_decode(frame, len, &req, op, &id, &err) != 0) {
		if (err.code != WIRE_BAD_JSON && err.code != WIRE_BAD_REQUEST)
			FUZZ_FAIL("wire_request_decode failed with %s", wire_code_name(err.code));
		json_decref(id);
		return NULL;
	}
	if (strcmp(*op, "event") == 0) {
		if (wire_event_decode(req, ev, &err) == 0)
			*is_event = true;
		else if (err.code != WIRE_BAD_REQUEST)
			FUZZ_FAIL("wire_event_decode failed with %s", wire_code_name(err.code));
	}
	return req;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_object_seed(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *frame = (const char *)data;
	char *strings = malloc(size + WIRE_SCAN_SLACK);
	if (!strings)
		abort();
	wire_event_t scanned, decoded;
	const char *id = (const char *)1, *op = NULL;
	size_t id_len = 1;
	int rc = wire_event_scan(frame, size, strings, &scanned, &id, &id_len);
	if (rc != 0 && rc != 1)
		FUZZ_FAIL("wire_event_scan returned %d", rc);
	if (rc == 0 && (id != NULL || id_len != 0))
		FUZZ_FAIL("a declined frame left an id");
	bool is_event;
	json_t *req = s_decode(frame, size, &op, &decoded, &is_event);
	if (rc == 1) {
		if (!is_event)
			FUZZ_FAIL("the scanner accepts an event the general path refuses");
		s_check_same_event(&scanned, &decoded);
		s_check_same_id(id, id_len, req);
		if (id && (id < frame || id + id_len > frame + size))
			FUZZ_FAIL("the scanned id is not inside the frame");
	}
	json_decref(req);
	free(strings);
	return 0;
}
