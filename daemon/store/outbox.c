/*
 * outbox: the hook deliveries waiting in the store. See outbox.h.
 */
#include "daemon/store/outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The topics of a hook that names none. */
#define OUTBOX_DEFAULT_TOPIC "breach."

bool outbox_hook_wants(const config_hook_t *hook, const char *topic)
{
	if (!hook->topics || hook->n_topics == 0)
		return strncmp(topic, OUTBOX_DEFAULT_TOPIC, strlen(OUTBOX_DEFAULT_TOPIC)) == 0;
	for (size_t i = 0; i < hook->n_topics && hook->topics[i]; i++)
		if (strncmp(topic, hook->topics[i], strlen(hook->topics[i])) == 0)
			return true;
	return false;
}

/* Puts one fresh entry for hook; body is the message text as a JSON string. */
static int s_enqueue_one(store_txn_t *txn, const config_hook_t *hook, uint64_t id,
			 const char *topic, json_t *body, int64_t now_ms)
{
	size_t key_len = strlen(hook->name) + 1 + 8;
	unsigned char *key = malloc(key_len);
	if (key) {
		memcpy(key, hook->name, key_len - 8);
		store_u64_encode(id, key + key_len - 8);
	}
	json_t *entry = json_pack("{s:I, s:s, s:s, s:O, s:i, s:I, s:I}", "delivery", (json_int_t)id,
				  "hook", hook->name, "topic", topic, "body", body, "attempts", 0,
				  "next_attempt", (json_int_t)now_ms, "created", (json_int_t)now_ms);
	int rc = key && entry ? store_put_json(txn, STORE_OUTBOX, key, key_len, entry) : -ENOMEM;
	json_decref(entry);
	free(key);
	return rc;
}

int outbox_enqueue(store_txn_t *txn, const config_t *cfg, const char *topic, const char *body,
		   size_t body_len, int64_t now_ms, int *queued_out)
{
	json_t *body_json = NULL;
	uint64_t last = 0;
	int queued = 0;
	int rc = 0;
	*queued_out = 0;
	for (size_t i = 0; rc == 0 && i < cfg->n_hooks; i++) {
		if (!outbox_hook_wants(&cfg->hooks[i], topic))
			continue;
		if (!body_json) {
			/* Bodies are JSON text made by jansson, so never invalid UTF-8 in practice. */
			body_json = json_stringn(body, body_len);
			if (!body_json)
				return -EINVAL;
			rc = store_meta_get_u64(txn, "last_delivery", &last);
			if (rc != 0)
				break;
		}
		rc = s_enqueue_one(txn, &cfg->hooks[i], ++last, topic, body_json, now_ms);
		if (rc == 0)
			queued++;
	}
	if (rc == 0 && queued > 0)
		rc = store_meta_put_u64(txn, "last_delivery", last);
	json_decref(body_json);
	if (rc == 0)
		*queued_out = queued;
	return rc;
}

