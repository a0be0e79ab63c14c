/*
 * page: paging over a database keyed by ids. See page.h.
 */
#include "daemon/store/page.h"

#include <errno.h>
#include <string.h>

#include "proto/wire.h"

/*
 * Positions cursor where a page starts: newest first, on the highest id below `from` (the
 * highest of all when from is 0); oldest first, on the lowest id above it.
 */
static int s_page_first(MDB_cursor *cursor, bool newest_first, uint64_t from, MDB_val *k,
			MDB_val *v)
{
	if (!from)
		return mdb_cursor_get(cursor, k, v, newest_first ? MDB_LAST : MDB_FIRST);
	unsigned char key[8];
	store_u64_encode(newest_first ? from : from + 1, key);
	k->mv_data = key;
	k->mv_size = sizeof key;
	int rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
	if (!newest_first)
		return rc;
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cursor, k, v, MDB_LAST);
	return rc ? rc : mdb_cursor_get(cursor, k, v, MDB_PREV);
}

/* The rows of one page being collected. */
typedef struct {
	json_t *rows;
	unsigned limit;
	bool more; /* a matching record past the page was seen: there is a next page */
} page_t;

/* Adds row r (stolen; NULL: the record did not match). Returns true when r is on the page. */
static bool s_page_add(page_t *page, json_t *r)
{
	if (!r)
		return false;
	if (json_array_size(page->rows) == page->limit) {
		page->more = true;
		json_decref(r);
		return false;
	}
	json_array_append_new(page->rows, r);
	return true;
}

/*
 * Ends the walk that stopped with rc: {KEY: rows, "next": next or null} into *fields_out, or
 * the walk's error. next is used only when there is a next page.
 */
static int s_page_finish(page_t *page, int rc, const char *key, const char *next,
			 json_t **fields_out)
{
	if (rc != 0 && rc != MDB_NOTFOUND) {
		json_decref(page->rows);
		return rc;
	}
	*fields_out = json_pack("{soso}", key, page->rows, "next",
				page->more ? json_string(next) : json_null());
	return *fields_out ? 0 : -ENOMEM;
}

int page_walk(store_txn_t *txn, store_db_t db, bool newest_first, uint64_t cursor,
	      unsigned limit, page_row_fn row, void *arg, const char *key, json_t **fields_out)
{
	MDB_cursor *c;
	MDB_val k, v;
	*fields_out = NULL;
	int rc = store_cursor_open(txn, db, &c);
	if (rc != 0)
		return rc;
	page_t page = { json_array(), limit, false };
	uint64_t last = 0;
	for (rc = s_page_first(c, newest_first, cursor, &k, &v); rc == 0 && !page.more;
	     rc = mdb_cursor_get(c, &k, &v, newest_first ? MDB_PREV : MDB_NEXT)) {
		json_t *r = NULL;
		uint64_t id = store_u64_decode(k.mv_data);
		if ((rc = row(txn, id, &v, arg, &r)) != 0)
			break;
		if (s_page_add(&page, r))
			last = id;
	}
	mdb_cursor_close(c);
	char next[WIRE_CURSOR_BUFSZ];
	return s_page_finish(&page, rc, key, wire_cursor_format(last, next), fields_out);
}

/* Positions cursor on the first entry after (at, id), or on the first of all when id is 0. */
static int s_timed_first(MDB_cursor *cursor, int64_t at, uint64_t id, MDB_val *k, MDB_val *v)
{
	if (!id)
		return mdb_cursor_get(cursor, k, v, MDB_FIRST);
	unsigned char key[16];
	store_i64_encode(at, key);
	store_u64_encode(id, key + 8);
	k->mv_data = key;
	k->mv_size = sizeof key;
	int rc = mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
	if (rc == 0 && k->mv_size == sizeof key && memcmp(k->mv_data, key, sizeof key) == 0)
		rc = mdb_cursor_get(cursor, k, v, MDB_NEXT);
	return rc;
}

int page_walk_timed(store_txn_t *txn, store_db_t db, int64_t after_at, uint64_t after_id,
		    unsigned limit, page_row_fn row, void *arg, const char *key, json_t **fields_out)
{
	MDB_cursor *c;
	MDB_val k, v;
	*fields_out = NULL;
	int rc = store_cursor_open(txn, db, &c);
	if (rc != 0)
		return rc;
	page_t page = { json_array(), limit, false };
	int64_t last_at = 0;
	uint64_t last_id = 0;
	for (rc = s_timed_first(c, after_at, after_id, &k, &v); rc == 0 && !page.more;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16)
			continue;
		json_t *r = NULL;
		const unsigned char *bytes = k.mv_data;
		uint64_t id = store_u64_decode(bytes + 8);
		if ((rc = row(txn, id, &v, arg, &r)) != 0)
			break;
		if (s_page_add(&page, r)) {
			last_at = store_i64_decode(bytes);
			last_id = id;
		}
	}
	mdb_cursor_close(c);
	char next[WIRE_CURSOR_BUFSZ];
	return s_page_finish(&page, rc, key, wire_cursor_format_opened(last_at, last_id, next),
			     fields_out);
}
