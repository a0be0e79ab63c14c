/*
 * page: the one paging mechanism of the listing ops (list, breaches, problem.list) over a
 * database keyed by big-endian u64 ids, or by a time and an id (list sorted oldest first, over
 * the opened-time index).
 */
#ifndef INCIDENTD_DAEMON_STORE_PAGE_H
#define INCIDENTD_DAEMON_STORE_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/store/store.h"

/*
 * Turns one record of a paged walk into its reply row: *row_out is the new row, or stays NULL
 * when the record does not pass the request's filters. Returns 0 or a negative code (the walk
 * stops).
 */
typedef int (*page_row_fn)(store_txn_t *txn, uint64_t id, const MDB_val *value, void *arg,
			   json_t **row_out);

/*
 * Walks db newest first from below cursor, or oldest first from after it (cursor 0: from the
 * newest, or the oldest), collects up to limit rows and sets *fields_out to
 * {KEY: [rows], "next": the cursor of the next page or null}. One more matching record past
 * the page is what makes "next" non-null. Returns 0, or a negative code with *fields_out NULL.
 */
int page_walk(store_txn_t *txn, store_db_t db, bool newest_first, uint64_t cursor,
	      unsigned limit, page_row_fn row, void *arg, const char *key, json_t **fields_out);

/*
 * Walks db, whose keys are an i64 time and a u64 id (store_i64_encode(), store_u64_encode()),
 * earliest first from just after (after_at, after_id), or from the start when after_id is 0;
 * collects up to limit rows as page_walk() does, and sets *fields_out to {KEY: [rows], "next":
 * wire_cursor_format_opened() of the last row, or null}. row receives the id and the entry's
 * value. Keys of another size are skipped. Returns 0, or a negative code with *fields_out NULL.
 */
int page_walk_timed(store_txn_t *txn, store_db_t db, int64_t after_at, uint64_t after_id,
		    unsigned limit, page_row_fn row, void *arg, const char *key, json_t **fields_out);

#endif
