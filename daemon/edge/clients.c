/*
 * clients: the keys the daemon admits. See clients.h.
 */
#include "daemon/edge/clients.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct clients {
	atomic_int refs;
	const config_t *cfg;
	config_t *owned;
	unsigned char (*keys)[KEYFILE_KEY_BYTES]; /* cfg->clients' keys, decoded, in order */
};

clients_t *clients_new(const config_t *cfg, config_t *owned)
{
	clients_t *c = calloc(1, sizeof *c);
	size_t n = cfg->n_clients;
	if (c)
		c->keys = calloc(n ? n : 1, sizeof *c->keys);
	if (!c || !c->keys) {
		free(c);
		config_destroy(&owned);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->cfg = cfg;
	c->owned = owned;
	/* The config checked every key; a key left undecoded (no env to read it) matches nothing. */
	for (size_t i = 0; i < n; i++)
		if (keyfile_z85_decode(cfg->clients[i].public_key, c->keys[i]) < 0)
			memset(c->keys[i], 0, sizeof c->keys[i]);
	return c;
}

clients_t *clients_ref(clients_t *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void clients_unref(clients_t **c_p)
{
	clients_t *c = c_p ? *c_p : NULL;
	if (!c)
		return;
	*c_p = NULL;
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	free(c->keys);
	config_destroy(&c->owned);
	free(c);
}

const config_client_t *clients_by_key(const clients_t *c, const unsigned char key[KEYFILE_KEY_BYTES])
{
	static const unsigned char none[KEYFILE_KEY_BYTES];
	if (memcmp(key, none, sizeof none) == 0)
		return NULL;
	for (size_t i = 0; i < c->cfg->n_clients; i++)
		if (memcmp(c->keys[i], key, KEYFILE_KEY_BYTES) == 0)
			return &c->cfg->clients[i];
	return NULL;
}

const config_client_t *clients_by_public(const clients_t *c, const char *z85)
{
	unsigned char key[KEYFILE_KEY_BYTES];
	return z85 && keyfile_z85_decode(z85, key) == 0 ? clients_by_key(c, key) : NULL;
}

const config_client_t *clients_by_name(const clients_t *c, const char *name)
{
	return name ? config_client_find(c->cfg, name, strlen(name)) : NULL;
}

op_caller_t clients_caller(const config_client_t *client)
{
	return (op_caller_t){
		.name = client->name,
		.role = client->role,
		.providers = client->role == ROLE_PROVIDER ? client->providers : NULL,
		.n_providers = client->role == ROLE_PROVIDER ? client->n_providers : 0,
	};
}

const config_t *clients_config(const clients_t *c)
{
	return c->cfg;
}
