/*
 * page: paging over a database keyed by ids. See page.h.
 */
#include "daemon/store/page.h"

#include <errno.h>

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

int page_walk(store_txn_t *txn, store_db_t db, bool newest_first, uint64_t cursor,
	      unsigned limit, page_row_fn row, void *arg, const char *key, json_t **fields_out)
{
	MDB_cursor *c;
	MDB_val k, v;
	*fields_out = NULL;
	int rc = store_cursor_open(txn, db, &c);
	if (rc != 0)
		return rc;
	json_t *rows = json_array();
	uint64_t last = 0;
	bool more = false;
	for (rc = s_page_first(c, newest_first, cursor, &k, &v); rc == 0 && !more;
	     rc = mdb_cursor_get(c, &k, &v, newest_first ? MDB_PREV : MDB_NEXT)) {
		json_t *r = NULL;
		uint64_t id = store_u64_decode(k.mv_data);
		if ((rc = row(txn, id, &v, arg, &r)) != 0)
			break;
		if (r && json_array_size(rows) == limit) {
			more = true;
			json_decref(r);
		} else if (r) {
			json_array_append_new(rows, r);
			last = id;
		}
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		json_decref(rows);
		return rc;
	}
	char next[WIRE_CURSOR_BUFSZ];
	*fields_out = json_pack("{soso}", key, rows, "next",
				more ? json_string(wire_cursor_format(last, next)) : json_null());
	return *fields_out ? 0 : -ENOMEM;
}
