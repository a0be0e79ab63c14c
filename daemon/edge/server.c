/*
 * server: ZeroMQ sockets inside the libuv loop. See server.h.
 */
#include "daemon/edge/server.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "daemon/core/deadline_heap.h"
#include "daemon/core/sub_table.h"
#include "daemon/edge/clients.h"
#include "daemon/edge/cluster.h"
#include "daemon/edge/zap.h"
#include "daemon/edge/writer.h"
#include "daemon/ops/ops.h"
#include "daemon/store/breaches.h"
#include "daemon/sys/clock.h"
#include "daemon/sys/conf_file.h"
#include "daemon/sys/log.h"
#include "daemon/sys/metrics.h"
#include "daemon/sys/notify.h"
#include "proto/jsonw.h"
#include "proto/wire.h"
#include "proto/wire_scan.h"
#include "proto/topic.h"

/* Messages handled per wakeup before the loop gets a turn (an idle handle resumes). */
#define DRAIN_MAX 256
/* The routing frames kept for a reply: identities and the REQ delimiter. */
#define ENVELOPE_FRAMES 8
#define ENVELOPE_BYTES 1024
/*
 * Replies that may wait for peers whose pipes are full (after ZeroMQ's own SNDHWM of 100,000
 * per peer). Past it, new replies to full peers are dropped and counted: a client that never
 * reads its replies must not grow the daemon's memory without bound. A dropped reply's
 * request was still applied; a retry is answered as a duplicate.
 */
#define OUTBOUND_MAX 65536
/* Frames read of one message; more are counted and dropped. */
#define MESSAGE_FRAMES 16
/*
 * Distinct topic prefixes one peer may add to what the daemon tracks. incidentctl watch uses a
 * handful; past this a peer's new prefixes are not honoured (proto/PROTOCOL.md).
 */
#define SUBSCRIPTIONS_PER_PEER 1000
/*
 * Messages read per turn of the loop from each side socket (the XPUB's subscriptions, the
 * monitors' events); an idle handle brings the loop back for the rest.
 */
#define SIDE_DRAIN_MAX 1024
/* The shortest time between two log lines about failed accepts on one socket. */
#define ACCEPT_LOG_MS (60 * 1000)
/* Monitored sockets: the ROUTER and the XPUB. */
#define MONITORS 2

/*
 * A monitor (zmq_socket_monitor) of the ROUTER or the XPUB, for failed accepts: at the limit
 * on open files libzmq can only fail to accept a connection, and the client hangs. The first
 * failure is logged at once, the next ones are counted and logged at most once a minute.
 *
 * libzmq's tcp listener retries a failed accept at once (its epoll is level-triggered), so
 * while a client waits the I/O thread makes these events as fast as it can. The monitor's
 * pipe keeps its default high-water mark: when it is full the I/O thread waits for this loop
 * to read, which holds the retries to the loop's pace instead of filling memory.
 */
typedef struct {
	void *pair;        /* the PAIR socket the monitor's events arrive on */
	uv_poll_t *poll;   /* watches pair; allocated, as pair is remade with its socket */
	uv_timer_t timer;  /* runs while failures are being counted */
	const char *what;  /* "api" or "publish" */
	bool failing;      /* a failure was logged, and the minute after it is not over */
	uint64_t failed;   /* failures since the last line */
	int last_errno;
} monitor_t;

/* How a reply finds its way back: the frames before the body, as received. */
typedef struct {
	unsigned n;
	size_t len[ENVELOPE_FRAMES];
	unsigned char data[ENVELOPE_BYTES];
} envelope_t;

/* A reply waiting for its peer's pipe to have room. */
typedef struct outbound {
	struct outbound *next;
	envelope_t *env;
	char *reply;
	size_t reply_len;
} outbound_t;

/*
 * The replies of one peer whose pipe was full, in order: a peer's replies never overtake each
 * other, and other peers' replies never wait behind them.
 */
typedef struct waiting_peer {
	struct waiting_peer *next;
	outbound_t *head, **tail;
} waiting_peer_t;

struct server {
	uv_loop_t *loop;
	const config_t *cfg;
	store_t *store;
	writer_t *writer;
	void *ctx;
	void *router;
	void *pub;
	void *zap;            /* the ZAP handler's REP socket (edge/zap.h) */
	uv_poll_t poll;
	uv_poll_t *pub_poll;  /* the XPUB socket (subscriptions arrive there); remade with it */
	uv_poll_t zap_poll;
	uv_prepare_t prepare;
	bool zmq_touched;     /* a socket was written since the prepare handle last checked */
	uv_idle_t idle;
	uv_idle_t side_idle;  /* runs while a side socket has more than one turn's share waiting */
	monitor_t monitors[MONITORS]; /* of the ROUTER and of the XPUB */
	uv_timer_t retry;
	uv_timer_t readers;   /* clears stale LMDB reader slots now and then */
	uv_timer_t deadline_timer; /* set for the earliest pending deadline */
	deadline_heap_t deadlines;
	alerts_t *alerts;
	cluster_t *cluster;   /* cluster mode (edge/cluster.h), or NULL */
	bool was_leader;      /* cluster mode: the deadline timer last saw this node lead */
	int64_t deadline_retry_at; /* cluster mode: no deadline goes to the log before this */
	clients_t *clients;   /* the keys admitted now (the config's, or the last reload's) */
	/*
	 * The topic prefixes subscribers want, from the XPUB's subscription messages; messages
	 * no one wants are never serialised.
	 */
	sub_table_t *subs;
	/*
	 * Some tracked prefix matches a topic the daemon publishes; read by the writer thread,
	 * which builds no message while it is false.
	 */
	atomic_bool listening;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_signal_t sighup;   /* reloads the [client] sections */
	const char *config_path; /* the file to reload, or NULL (built-in defaults) */
	char *config_text;    /* the text the running configuration came from (owned), or NULL */
	unsigned pub_generation; /* how many times the publish socket was bound anew */
	waiting_peer_t *waiting; /* peers with replies waiting for room */
	size_t n_out;         /* replies waiting, all peers together */
	uint64_t dropped;     /* replies dropped because too many were waiting */
	uint64_t started_ms;  /* uv_now at start */
	atomic_bool stopping; /* read by the HTTP listener's thread too (/readyz) */
	int open_handles;     /* handles not yet closed; sockets close when it reaches 0 */
	int pool_reads;       /* reads running on the thread pool; they too hold the sockets open */
};

static int s_events(void *socket)
{
	int events = 0;
	size_t len = sizeof events;
	if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &len) < 0)
		return 0;
	return events;
}

/*
 * Sends envelope and reply. Returns 0 when sent or dropped for good (peer gone), -EAGAIN when
 * the peer's pipe is full and the reply must wait.
 */
static int s_send_reply(server_t *s, const envelope_t *env, const char *reply, size_t len)
{
	const unsigned char *p = env->data;
	s->zmq_touched = true;
	for (unsigned i = 0; i < env->n; p += env->len[i], i++) {
		if (zmq_send(s->router, p, env->len[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
			continue;
		if (i == 0 && errno == EAGAIN)
			return -EAGAIN;
		log_debug("reply dropped: %s", zmq_strerror(errno));
		return 0;
	}
	if (zmq_send(s->router, reply, len, ZMQ_DONTWAIT) < 0)
		log_debug("reply dropped: %s", zmq_strerror(errno));
	return 0;
}

static bool s_same_peer(const envelope_t *a, const envelope_t *b)
{
	return a->len[0] == b->len[0] && memcmp(a->data, b->data, a->len[0]) == 0;
}

static void s_outbound_free(outbound_t *o)
{
	free(o->env);
	free(o->reply);
	free(o);
}

/* The waiting queue of env's peer, or NULL when its replies go straight out. */
static waiting_peer_t *s_waiting_find(server_t *s, const envelope_t *env)
{
	for (waiting_peer_t *w = s->waiting; w; w = w->next)
		if (s_same_peer(w->head->env, env))
			return w;
	return NULL;
}

/*
 * Sends what each waiting peer has room for, in order; a peer whose queue empties leaves the
 * list. The cost is one attempt per still-full peer, however many replies wait.
 */
static void s_flush(server_t *s)
{
	waiting_peer_t **wp = &s->waiting;
	while (*wp) {
		waiting_peer_t *w = *wp;
		while (w->head && s_send_reply(s, w->head->env, w->head->reply, w->head->reply_len) == 0) {
			outbound_t *o = w->head;
			w->head = o->next;
			s_outbound_free(o);
			s->n_out--;
		}
		if (w->head) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		free(w);
	}
	if (!s->waiting)
		uv_timer_stop(&s->retry);
}

static void s_on_retry(uv_timer_t *timer)
{
	s_flush(timer->data);
}

/* Frees every waiting reply (at shutdown). */
static void s_waiting_release(server_t *s)
{
	while (s->waiting) {
		waiting_peer_t *w = s->waiting;
		s->waiting = w->next;
		while (w->head) {
			outbound_t *o = w->head;
			w->head = o->next;
			s_outbound_free(o);
		}
		free(w);
	}
	s->n_out = 0;
}

/* Appends a reply to env's peer's queue (taking env and reply); false when it cannot. */
static bool s_wait(server_t *s, waiting_peer_t *w, envelope_t *env, char *reply, size_t len)
{
	outbound_t *o = s->n_out < OUTBOUND_MAX ? malloc(sizeof *o) : NULL;
	if (o && !w && (w = calloc(1, sizeof *w)) != NULL) {
		w->tail = &w->head;
		w->next = s->waiting;
		s->waiting = w;
	}
	if (!o || !w) {
		free(o);
		return false;
	}
	*o = (outbound_t){ NULL, env, reply, len };
	*w->tail = o;
	w->tail = &o->next;
	s->n_out++;
	if (!uv_is_active((uv_handle_t *)&s->retry))
		uv_timer_start(&s->retry, s_on_retry, 1, 1);
	return true;
}

/* Sends a reply now, or keeps it (taking env and reply) until the peer has room. */
static void s_reply(server_t *s, envelope_t *env, char *reply, size_t len)
{
	if (!reply) {
		free(env);
		return;
	}
	waiting_peer_t *w = s_waiting_find(s, env);
	if (!w && s_send_reply(s, env, reply, len) == 0) {
		free(env);
		free(reply);
		return;
	}
	if (s_wait(s, w, env, reply, len))
		return;
	/* Logged at the first drop and then every 10,000th. */
	if (s->dropped++ % 10000 == 0)
		log_warnx("%llu replies dropped: %zu wait for peers that do not read them",
			  (unsigned long long)s->dropped, s->n_out);
	free(env);
	free(reply);
}

/* Counts an answered request of op (NULL: its op could not be read) that arrived at started_ns. */
static void s_count(const char *op, wire_code_t code, uint64_t started_ns)
{
	metrics_request(op, code == WIRE_OK ? "ok" : wire_code_name(code), clock_since_s(started_ns));
}

static void s_reply_error(server_t *s, envelope_t *env, const wire_error_t *err, const json_t *id)
{
	size_t len;
	char *reply = wire_reply_error(err, id, &len);
	s_reply(s, env, reply, len);
}

/*
 * Who sent a subscription: its User-Id (with CURVE) at its Peer-Address (tcp: the remote IP
 * address; ipc: "localhost:UID:GID:PID" of the connected process, from SO_PEERCRED), or
 * "inproc" without an address.
 */
static void s_peer_name(zmq_msg_t *msg, char *buf, size_t len)
{
	const char *addr = zmq_msg_gets(msg, "Peer-Address");
	const char *user = zmq_msg_gets(msg, "User-Id");
	snprintf(buf, len, "%s%s%s", user ? user : "", user ? "@" : "", addr ? addr : "inproc");
}

/*
 * Applies one message of the XPUB socket: a byte 1 (subscribe) or 0 (unsubscribe), then the
 * prefix. With ZMQ_XPUB_VERBOSE every subscription comes up, with its sender's metadata; an
 * unsubscription only when the last holder of the prefix gave it up (also when its connection
 * ended, without metadata). Anything else (an XSUB may send messages) is ignored.
 */
static void s_subscription(server_t *s, zmq_msg_t *msg)
{
	const unsigned char *data = zmq_msg_data(msg);
	size_t len = zmq_msg_size(msg);
	if (len < 1 || data[0] > 1 || zmq_msg_more(msg))
		return;
	if (data[0] == 0) {
		sub_table_unsubscribe(s->subs, data + 1, len - 1);
	} else {
		char peer[256];
		s_peer_name(msg, peer, sizeof peer);
		/* Logged once per peer: a peer over the cap may send thousands more. */
		if (sub_table_subscribe(s->subs, peer, data + 1, len - 1) == SUB_REFUSED_FIRST)
			log_warnx("publish: peer %s: more than %d subscriptions; further ones are "
				  "not honoured", peer, SUBSCRIPTIONS_PER_PEER);
	}
	atomic_store(&s->listening, sub_table_matching(s->subs) > 0);
}

/*
 * Reads up to SIDE_DRAIN_MAX subscription messages, until EAGAIN. Returns true when
 * ZMQ_EVENTS, read last, still shows input: the caller must come back before the loop blocks.
 */
static bool s_pub_drain(server_t *s)
{
	if (!s->pub)
		return false;
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	for (int i = 0; i < SIDE_DRAIN_MAX && zmq_msg_recv(&msg, s->pub, ZMQ_DONTWAIT) >= 0; i++)
		s_subscription(s, &msg);
	zmq_msg_close(&msg);
	return (s_events(s->pub) & ZMQ_POLLIN) != 0;
}

static monitor_t *s_monitor_of_timer(uv_timer_t *timer)
{
	return (monitor_t *)(void *)((char *)timer - offsetof(monitor_t, timer));
}

/*
 * Once a minute while accepts fail: how many failed since the last line. They are attempts,
 * not clients: libzmq retries a waiting connection at once, thousands of times a second.
 */
static void s_on_accept_log(uv_timer_t *timer)
{
	monitor_t *m = s_monitor_of_timer(timer);
	if (m->failed == 0) {
		/* A quiet minute: the next failure is news again, logged at once. */
		m->failing = false;
		uv_timer_stop(timer);
		return;
	}
	log_warnx("%s: %llu more failed accept(s) in the last minute (a waiting client is retried "
		  "at once): %s", m->what, (unsigned long long)m->failed, strerror(m->last_errno));
	m->failed = 0;
}

/*
 * One failed accept. libzmq retries at once while the connection waits, so at the limit this
 * comes thousands of times a second: the first is logged, the others counted.
 */
static void s_accept_failed(monitor_t *m, int err, const char *endpoint)
{
	m->last_errno = err;
	if (m->failing) {
		m->failed++;
		return;
	}
	struct rlimit rl = { 0, 0 };
	getrlimit(RLIMIT_NOFILE, &rl);
	log_warnx("%s %s: cannot accept connections: %s (open files limit %llu); new clients wait "
		  "until descriptors come free; further failures are logged at most once a minute",
		  m->what, endpoint, strerror(err), (unsigned long long)rl.rlim_cur);
	m->failing = true;
	m->failed = 0;
	uv_timer_start(&m->timer, s_on_accept_log, ACCEPT_LOG_MS, ACCEPT_LOG_MS);
}

/*
 * Reads one monitor event: two frames, the event number (16 bits) and value (32 bits, here
 * the errno), then the endpoint, copied into ep unless it is NULL. Returns false when none
 * was waiting.
 */
static bool s_monitor_event(monitor_t *m, unsigned *event, unsigned *value, char *ep, size_t len)
{
	zmq_msg_t frame;
	zmq_msg_init(&frame);
	if (zmq_msg_recv(&frame, m->pair, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&frame);
		return false;
	}
	uint16_t ev = 0;
	uint32_t val = 0;
	if (zmq_msg_size(&frame) == sizeof ev + sizeof val) {
		memcpy(&ev, zmq_msg_data(&frame), sizeof ev);
		memcpy(&val, (const char *)zmq_msg_data(&frame) + sizeof ev, sizeof val);
	}
	*event = ev;
	*value = val;
	for (bool first = true; zmq_msg_more(&frame); first = false) {
		if (zmq_msg_recv(&frame, m->pair, ZMQ_DONTWAIT) < 0)
			break;
		if (first && ep)
			snprintf(ep, len, "%.*s", (int)zmq_msg_size(&frame),
				 (const char *)zmq_msg_data(&frame));
	}
	zmq_msg_close(&frame);
	return true;
}

/* Reads up to SIDE_DRAIN_MAX events of m. Returns true when more are waiting. */
static bool s_monitor_drain(monitor_t *m)
{
	if (!m->pair)
		return false;
	unsigned event, value;
	char endpoint[256] = "";
	/* The endpoint is for the first failure's line: not copied while failures are counted. */
	for (int i = 0; i < SIDE_DRAIN_MAX && s_monitor_event(m, &event, &value,
							      m->failing ? NULL : endpoint,
							      sizeof endpoint); i++)
		if (event == ZMQ_EVENT_ACCEPT_FAILED)
			s_accept_failed(m, (int)value, endpoint);
	return (s_events(m->pair) & ZMQ_POLLIN) != 0;
}

/*
 * Starts monitoring socket's failed accepts; the events arrive on m->pair. Returns 0, or -1
 * with errno set.
 */
static int s_monitor_open(server_t *s, monitor_t *m, void *socket, const char *what)
{
	char endpoint[64];
	/* A socket bound anew (a reload) gets a monitor of its own, not its predecessor's. */
	snprintf(endpoint, sizeof endpoint, "inproc://incidentd-monitor-%s-%u", what,
		 s->pub_generation);
	m->what = what;
	if (zmq_socket_monitor(socket, endpoint, ZMQ_EVENT_ACCEPT_FAILED) < 0)
		return -1;
	m->pair = zmq_socket(s->ctx, ZMQ_PAIR);
	if (!m->pair)
		return -1;
	int linger = 0;
	zmq_setsockopt(m->pair, ZMQ_LINGER, &linger, sizeof linger);
	return zmq_connect(m->pair, endpoint);
}

/*
 * Answers up to SIDE_DRAIN_MAX handshakes waiting for the ZAP handler. Returns true when more
 * are waiting.
 */
static bool s_zap_drain(server_t *s)
{
	if (!s->zap)
		return false;
	for (int i = 0; i < SIDE_DRAIN_MAX && zap_answer(s->zap, s->clients); i++)
		;
	return (s_events(s->zap) & ZMQ_POLLIN) != 0;
}

static void s_on_side_idle(uv_idle_t *idle);

/*
 * Reads the side sockets, the XPUB's subscriptions and the monitors' events, a bounded share
 * of each per turn of the loop; the idle handle runs while more is waiting. Like the ROUTER's
 * drain, each ends with a read of ZMQ_EVENTS, which edge-triggered ZMQ_FD needs before the
 * loop blocks.
 */
static void s_side_read(server_t *s)
{
	if (uv_is_closing((uv_handle_t *)&s->side_idle))
		return;
	bool more = s_pub_drain(s);
	more |= s_zap_drain(s);
	for (size_t i = 0; i < MONITORS; i++)
		more |= s_monitor_drain(&s->monitors[i]);
	if (more)
		uv_idle_start(&s->side_idle, s_on_side_idle);
	else
		uv_idle_stop(&s->side_idle);
}

static void s_on_side_idle(uv_idle_t *idle)
{
	s_side_read(idle->data);
}

static bool s_wanted(const server_t *s, const char *topic)
{
	return sub_table_wants(s->subs, topic, strlen(topic));
}

/* Sends pubs to the subscribers that want them (subscriptions read by the caller). */
static void s_publish(server_t *s, const batch_pub_t *pubs)
{
	s->zmq_touched = s->zmq_touched || pubs != NULL;
	for (const batch_pub_t *p = pubs; s->pub && p; p = p->next) {
		if (!s_wanted(s, p->topic))
			continue;
		size_t len;
		char *body = jsonw_dumps(p->body, &len);
		/*
		 * A PUB socket never blocks: with no room, the message is dropped (seq shows it).
		 * What the socket refuses is counted; a subscriber's full queue drops inside libzmq
		 * (an XPUB without ZMQ_XPUB_NODROP), which no call here can see.
		 */
		if (!body || zmq_send(s->pub, p->topic, strlen(p->topic),
				      ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
		    zmq_send(s->pub, body, len, ZMQ_DONTWAIT) < 0)
			metrics_publish_dropped();
		free(body);
	}
}

static void s_on_deadline(uv_timer_t *timer);
static int s_deadlines_load(server_t *s, char *errbuf, size_t errlen);
/* How often a follower looks whether it became the leader. */
#define CLUSTER_FOLLOWER_POLL_MS 250
/* After the log refused a deadline (no quorum), the pause before it is tried again. */
#define CLUSTER_RETRY_MS 1000

/*
 * Sets the deadline timer for the earliest pending deadline. In a cluster a follower's timer
 * also turns every CLUSTER_FOLLOWER_POLL_MS, to notice that it became the leader; and after
 * the log refused a deadline, the next try waits CLUSTER_RETRY_MS.
 */
static void s_deadlines_arm(server_t *s)
{
	const deadline_t *first = deadline_heap_peek(&s->deadlines);
	bool follower = s->cluster && !s->was_leader;
	if ((!first && !follower) || s->stopping) {
		uv_timer_stop(&s->deadline_timer);
		return;
	}
	int64_t now = clock_now_ms();
	int64_t delay = first ? first->due - now : INT64_MAX;
	if (follower && delay > CLUSTER_FOLLOWER_POLL_MS)
		delay = CLUSTER_FOLLOWER_POLL_MS;
	if (s->deadline_retry_at > now && delay < s->deadline_retry_at - now)
		delay = s->deadline_retry_at - now;
	uv_timer_start(&s->deadline_timer, s_on_deadline, delay > 0 ? (uint64_t)delay : 0, 0);
}

/*
 * Cluster mode: only the leader raises breaches. A follower drops the deadlines that come due
 * (the leader raises them, and their entries reach every node); a node that becomes the
 * leader loads the pending deadlines from its store anew, so that none is missed.
 */
static bool s_deadlines_leader(server_t *s)
{
	bool leader = cluster_is_leader(s->cluster);
	if (leader && !s->was_leader) {
		char err[256];
		deadline_heap_release(&s->deadlines);
		if (s_deadlines_load(s, err, sizeof err) < 0)
			log_warnx("cluster: %s", err);
	}
	s->was_leader = leader;
	if (!leader) {
		int64_t now = clock_now_ms();
		const deadline_t *first;
		deadline_t dropped;
		while ((first = deadline_heap_peek(&s->deadlines)) && first->due <= now)
			deadline_heap_pop(&s->deadlines, &dropped);
	}
	return leader;
}

/*
 * Every deadline that is due goes to the writer, which raises its breach unless it was met
 * meanwhile. The wall clock decides, not the loop's cached time: a breach never comes before
 * its deadline.
 */
static void s_on_deadline(uv_timer_t *timer)
{
	server_t *s = timer->data;
	int64_t now = clock_now_ms();
	const deadline_t *first;
	if (s->cluster && !s->stopping && !s_deadlines_leader(s)) {
		s_deadlines_arm(s);
		return;
	}
	while (!s->stopping && (first = deadline_heap_peek(&s->deadlines)) && first->due <= now) {
		writer_job_t *job = calloc(1, sizeof *job);
		if (!job)
			break;
		deadline_heap_pop(&s->deadlines, &job->deadline);
		writer_submit(s->writer, job);
	}
	s_deadlines_arm(s);
}

/*
 * Alerts callback, on a delivery thread: a message the delivery threads publish (a give-up,
 * already committed) becomes a writer job, so that it takes the next seq in a batch like every
 * other message. Takes body. s->writer is safe to use here: server_stop() stops the delivery
 * threads before it stops the writer.
 */
static void s_on_alerts_publish(const char *topic, json_t *body, void *arg)
{
	server_t *s = arg;
	writer_job_t *job = calloc(1, sizeof *job);
	char *copy = strdup(topic);
	if (!job || !copy) {
		log_warnx("cannot publish %s: out of memory", topic);
		free(job);
		free(copy);
		json_decref(body);
		return;
	}
	job->notice_topic = copy;
	job->notice = body;
	writer_submit(s->writer, job);
}

/* The reply frame of a committed request; its length in *len. */
static char *s_job_reply(writer_job_t *job, size_t *len)
{
	const json_t *id = job->request ? json_object_get(job->request, "id") : NULL;
	if (job->event.set)
		return ops_event_reply_text(&job->event, job->id_text, job->id_len, id, len);
	if (job->fields) {
		char *reply = wire_reply_ok(job->fields, id, len);
		job->fields = NULL; /* stolen by wire_reply_ok */
		return reply;
	}
	/* A refused scanned event: its id is text; refusals are rare enough to parse it. */
	json_t *parsed = job->id_text ? json_loadb(job->id_text, job->id_len, JSON_DECODE_ANY, NULL)
				      : NULL;
	char *reply = wire_reply_error(&job->err, parsed ? parsed : id, len);
	json_decref(parsed);
	return reply;
}

/* Writer callback: the committed jobs, replied to and published in commit order. */
static void s_on_committed(writer_job_t *jobs, void *arg)
{
	server_t *s = arg;
	size_t armed = 0, len;
	/* Subscriptions that came meanwhile count for this batch's messages. */
	s_pub_drain(s);
	while (jobs) {
		writer_job_t *job = jobs;
		jobs = job->next;
		if ((job->request || job->scanned) && !job->remote)
			s_count(job->op->name, job->event.set || job->fields ? WIRE_OK : job->err.code,
				job->started_ns);
		if (job->remote) {
			/* Cluster mode: another node's entry (or an old one): its client is not ours. */
		} else if (job->on_reply) {
			char *reply = s_job_reply(job, &len);
			job->on_reply(job, reply, reply ? len : 0, job->on_reply_arg);
		} else if (job->request || job->scanned) {
			/* len is set by s_job_reply(): not in the same call's arguments. */
			char *reply = s_job_reply(job, &len);
			s_reply(s, job->peer, reply, len);
		}
		/* A deadline the log refused (no quorum) is tried again in a moment. */
		if (s->cluster && !job->op && !job->notice_topic && !job->hook && !job->skip &&
		    job->stream_seq == 0 && job->err.code == WIRE_UNAVAILABLE) {
			armed += deadline_heap_push(&s->deadlines, job->deadline) == 0;
			s->deadline_retry_at = clock_now_ms() + CLUSTER_RETRY_MS;
		}
		job->peer = NULL;
		s_publish(s, job->pubs);
		for (size_t i = 0; i < job->n_arm; i++)
			armed += deadline_heap_push(&s->deadlines, job->arm[i]) == 0;
		writer_job_free(job);
	}
	if (armed)
		s_deadlines_arm(s);
}

/*
 * A read answered on the libuv thread pool: the ops that walk many records (report, list,
 * breaches, problem.list) would otherwise hold up every other request, event
 * acknowledgements included, for as long as they take.
 */
typedef struct {
	uv_work_t work;
	server_t *server;
	envelope_t *env;
	json_t *req;
	const op_t *op;
	op_context_t ctx;
	op_caller_t caller;   /* ctx.caller points here */
	op_cluster_t cluster; /* ctx.cluster points here (cluster mode) */
	clients_t *clients;   /* the reference that keeps caller's strings */
	uint64_t started_ns;  /* when the request arrived */
	wire_code_t code;     /* the reply's */
	char *reply;
	size_t reply_len;
} pool_read_t;

/* Answers a read-only request into a reply frame (any thread). */
static char *s_read(const server_t *s, const json_t *req, const op_t *op, const op_context_t *ctx,
		    size_t *len, wire_code_t *code)
{
	batch_result_t res;
	batch_result_init(&res);
	ops_read(op, s->store, ctx, req, &res);
	*code = res.fields ? WIRE_OK : res.err.code;
	const json_t *id = json_object_get(req, "id");
	char *reply = res.fields ? wire_reply_ok(res.fields, id, len)
				 : wire_reply_error(&res.err, id, len);
	res.fields = NULL; /* stolen by wire_reply_ok */
	batch_result_clear(&res);
	return reply;
}

static void s_pool_read(uv_work_t *work)
{
	pool_read_t *r = work->data;
	r->reply = s_read(r->server, r->req, r->op, &r->ctx, &r->reply_len, &r->code);
}

static void s_sockets_close_when_idle(server_t *s);

static void s_pool_read_done(uv_work_t *work, int status)
{
	pool_read_t *r = work->data;
	server_t *s = r->server;
	(void)status;
	s->pool_reads--;
	s_count(r->op->name, r->code, r->started_ns);
	s_reply(s, r->env, r->reply, r->reply_len);
	json_decref(r->req);
	clients_unref(&r->clients);
	free(r);
	if (s->stopping)
		s_sockets_close_when_idle(s);
}

/* Cluster mode: what status shows of the cluster, into *out; NULL alone. */
static const op_cluster_t *s_cluster_view(const server_t *s, op_cluster_t *out)
{
	if (!s->cluster)
		return NULL;
	cluster_view_t view;
	cluster_view(s->cluster, &view);
	out->node = view.node;
	snprintf(out->leader, sizeof out->leader, "%s", view.leader);
	out->last = view.last;
	return out;
}

/*
 * True when op walks many records for caller: the ops that walk for everyone, and those that
 * walk only to keep to a provider key's incidents.
 */
static bool s_walks(const op_t *op, const op_caller_t *caller)
{
	return (op->flags & OP_WALKS) ||
	       ((op->flags & OP_WALKS_SCOPED) && caller->role == ROLE_PROVIDER);
}

/*
 * Answers a read of caller: at once, or on the thread pool for the ops that walk. Takes env
 * and req.
 */
static void s_read_dispatch(server_t *s, envelope_t *env, json_t *req, const op_t *op,
			    const op_caller_t *caller, uint64_t started_ns)
{
	op_cluster_t cluster;
	op_context_t ctx = {
		.cfg = s->cfg,
		.now_ms = clock_now_ms(),
		.uptime_s = (int64_t)(uv_now(s->loop) - s->started_ms) / 1000,
		.caller = caller,
		.cluster = s_cluster_view(s, &cluster),
	};
	pool_read_t *r = s_walks(op, caller) ? calloc(1, sizeof *r) : NULL;
	if (r) {
		*r = (pool_read_t){ .server = s, .env = env, .req = req, .op = op, .ctx = ctx,
				    .caller = *caller, .clients = clients_ref(s->clients),
				    .started_ns = started_ns };
		r->ctx.caller = &r->caller;
		if (ctx.cluster) {
			r->cluster = cluster;
			r->ctx.cluster = &r->cluster;
		}
		r->work.data = r;
		if (uv_queue_work(s->loop, &r->work, s_pool_read, s_pool_read_done) == 0) {
			s->pool_reads++;
			return;
		}
		clients_unref(&r->clients);
		free(r);
	}
	size_t len;
	wire_code_t code;
	char *reply = s_read(s, req, op, &ctx, &len, &code);
	s_count(op->name, code, started_ns);
	s_reply(s, env, reply, len);
	json_decref(req);
}

/* When a request arrived: its wall-clock time (recorded) and a monotonic one (its duration). */
typedef struct {
	int64_t received_ms;
	uint64_t started_ns;
} arrival_t;

/*
 * A job for a request frame of caller from env (a copy of the frame in it), or NULL (no
 * memory).
 */
static writer_job_t *s_job_new(server_t *s, envelope_t *env, const void *body, size_t len,
			       size_t extra, const arrival_t *at, const op_caller_t *caller)
{
	/* The frame lives in the job's own allocation, after the job; extra bytes follow it. */
	writer_job_t *job = malloc(sizeof *job + len + extra);
	if (job) {
		*job = (writer_job_t){ .raw = (char *)(job + 1), .raw_len = len,
				       .received_ms = at->received_ms, .started_ns = at->started_ns,
				       .peer = env, .caller = *caller,
				       .clients = clients_ref(s->clients) };
		memcpy(job->raw, body, len);
	}
	return job;
}

/*
 * The fast path of the common request, an event: wire_event_scan() decodes it without
 * building a json_t, into a job holding the raw frame and the decoded strings. Returns false
 * (having taken nothing) when the frame is anything else, which then takes the general path.
 */
static bool s_submit_scanned(server_t *s, envelope_t *env, const void *body, size_t len,
			     const arrival_t *at, const op_caller_t *caller)
{
	writer_job_t *job = s_job_new(s, env, body, len, len + WIRE_SCAN_SLACK, at, caller);
	if (!job)
		return false;
	job->scanned = true;
	job->op = ops_event();
	if (wire_event_scan(job->raw, len, job->raw + len, &job->ev, &job->id_text,
			    &job->id_len) != 1) {
		clients_unref(&job->clients);
		free(job);
		return false;
	}
	writer_submit(s->writer, job);
	return true;
}

/*
 * True when caller's role may call op; otherwise err says so (forbidden), naming the op and
 * the role.
 */
static bool s_allowed(const op_t *op, const op_caller_t *caller, wire_error_t *err)
{
	if (op->roles & OP_ROLE(caller->role))
		return true;
	wire_error_set(err, WIRE_FORBIDDEN, "op: %s is not allowed to a %s key", op->name,
		       config_role_name(caller->role));
	return false;
}

/*
 * Handles one request body of caller from env: decodes it, checks the caller may call its op,
 * answers reads and queues writes for the writer. Takes env.
 */
static void s_dispatch(server_t *s, envelope_t *env, const void *body, size_t len,
		       const arrival_t *at, const op_caller_t *caller)
{
	wire_error_t err;
	json_t *req = NULL, *id = NULL;
	const char *name;
	/* The fast path is the event op's: a caller it is not allowed to takes the general one. */
	if (!s->stopping && (ops_event()->roles & OP_ROLE(caller->role)) &&
	    s_submit_scanned(s, env, body, len, at, caller))
		return;
	if (wire_request_decode(body, len, &req, &name, &id, &err) < 0) {
		s_count(NULL, err.code, at->started_ns);
		s_reply_error(s, env, &err, id);
		json_decref(id);
		return;
	}
	const op_t *op = ops_find(name);
	bool refused = true;
	if (!op)
		wire_error_set(&err, WIRE_UNKNOWN_OP, "op: unknown operation \"%s\"", name);
	else if (s->stopping)
		wire_error_set(&err, WIRE_UNAVAILABLE, "incidentd is stopping");
	else
		refused = !s_allowed(op, caller, &err);
	if (refused) {
		/* An event refused before the writer counts with the writer's refusals. */
		if (op == ops_event())
			metrics_event(METRICS_EVENT_REFUSED);
		s_count(op ? op->name : NULL, err.code, at->started_ns);
		s_reply_error(s, env, &err, json_object_get(req, "id"));
	} else if (op->flags & OP_WRITES) {
		writer_job_t *job = s_job_new(s, env, body, len, 0, at, caller);
		if (job) {
			job->request = req;
			job->op = op;
			writer_submit(s->writer, job);
			return;
		}
		free(env);
	} else {
		s_read_dispatch(s, env, req, op, caller, at->started_ns);
		return;
	}
	json_decref(req);
}

/* Submits an event for another edge (HTTP). See server.h. */
int server_submit_event(server_t *s, const char *body, size_t len, const op_caller_t *caller,
			writer_reply_cb on_reply, void *arg, wire_error_t *err)
{
	json_t *req = NULL, *id = NULL;
	const char *name;
	if (s->stopping)
		return wire_error_set(err, WIRE_UNAVAILABLE, "incidentd is stopping");
	if (!s_allowed(ops_event(), caller, err))
		return -1;
	arrival_t at = { clock_now_ms(), clock_mono_ns() };
	writer_job_t *job = s_job_new(s, NULL, body, len, len + WIRE_SCAN_SLACK, &at, caller);
	if (!job)
		return wire_error_set(err, WIRE_INTERNAL, "out of memory");
	job->on_reply = on_reply;
	job->on_reply_arg = arg;
	job->op = ops_event();
	/* The scanner's fast path, else the general decoder (which names what is wrong). */
	job->scanned = wire_event_scan(job->raw, len, job->raw + len, &job->ev, &job->id_text,
				       &job->id_len) == 1;
	if (!job->scanned) {
		if (wire_request_decode(job->raw, len, &req, &name, &id, err) == 0 &&
		    strcmp(name, ops_event()->name) != 0)
			wire_error_set(err, WIRE_BAD_REQUEST, "op: expected \"event\"");
		else if (req)
			job->request = req;
		if (!job->request) {
			json_decref(req);
			json_decref(id);
			clients_unref(&job->clients);
			free(job);
			return -1;
		}
		job->id_text = NULL;
		job->id_len = 0;
	}
	writer_submit(s->writer, job);
	return 0;
}

clients_t *server_clients(server_t *s)
{
	return s->clients;
}

bool server_stopping(const server_t *s)
{
	return s->stopping;
}

/*
 * Splits the frames of one message into its envelope and body. The envelope is the first
 * frame (the peer's identity) and, when an empty delimiter follows it with more frames after
 * (REQ, or a DEALER that speaks like one), everything up to that delimiter. Returns the index
 * of the first body frame, or -1 when the envelope does not fit (the message is dropped: no
 * reply could find its way back).
 */
static int s_envelope(zmq_msg_t *frames, int n, envelope_t *env)
{
	int body = 1;
	for (int i = 1; i < n - 1 && i < ENVELOPE_FRAMES; i++) {
		if (zmq_msg_size(&frames[i]) == 0) {
			body = i + 1;
			break;
		}
	}
	size_t used = 0;
	env->n = 0;
	for (int i = 0; i < body; i++) {
		size_t len = zmq_msg_size(&frames[i]);
		if (used + len > ENVELOPE_BYTES)
			return -1;
		memcpy(env->data + used, zmq_msg_data(&frames[i]), len);
		env->len[env->n++] = len;
		used += len;
	}
	return body;
}

/* Checks the body frames of a message; on success *body is the one request frame. */
static int s_check_body(server_t *s, zmq_msg_t *frames, int first, int n, int total,
			zmq_msg_t **body, wire_error_t *err)
{
	(void)n;
	if (total - first != 1)
		return wire_error_set(err, WIRE_BAD_REQUEST,
				      "request: expected one frame holding a JSON object, got %d frames",
				      total - first);
	*body = &frames[first];
	size_t len = zmq_msg_size(*body);
	if (len > s->cfg->max_request_bytes)
		return wire_error_set(err, WIRE_TOO_LARGE,
				      "request: %zu bytes is more than max_request_bytes (%zu)", len,
				      s->cfg->max_request_bytes);
	if (len == 0)
		return wire_error_set(err, WIRE_BAD_JSON, "request: empty frame");
	return 0;
}

/*
 * Who sent body: without CURVE an anonymous operator; with it, the client its key belongs to,
 * looked up on every request by the User-Id (the key) the ZAP handler gave its connection, so
 * that a key a reload removed or rotated is refused on a connection opened before (forbidden).
 */
static int s_caller(server_t *s, zmq_msg_t *body, op_caller_t *caller, wire_error_t *err)
{
	if (!s->cfg->security.curve) {
		*caller = op_anonymous;
		return 0;
	}
	const char *user = zmq_msg_gets(body, "User-Id");
	const config_client_t *client = clients_by_public(s->clients, user);
	if (!client)
		return wire_error_set(err, WIRE_FORBIDDEN, "this key (%s) is no longer allowed",
				      user ? user : "unknown");
	*caller = clients_caller(client);
	return 0;
}

/* Receives one whole message (all its frames) and handles it; false when none was waiting. */
static bool s_recv_one(server_t *s)
{
	zmq_msg_t frames[MESSAGE_FRAMES];
	int n = 0, total = 0;
	int more = 1;
	while (more) {
		zmq_msg_t *m = &frames[n < MESSAGE_FRAMES ? n : MESSAGE_FRAMES - 1];
		if (n == MESSAGE_FRAMES)
			zmq_msg_close(m); /* keep counting, keep only the first frames */
		zmq_msg_init(m);
		if (zmq_msg_recv(m, s->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(m);
			if (total == 0)
				return false;
			break;
		}
		more = zmq_msg_more(m);
		total++;
		if (n < MESSAGE_FRAMES)
			n++;
	}
	arrival_t at = { clock_now_ms(), clock_mono_ns() };
	envelope_t *env = malloc(sizeof *env);
	int first = env && n > 0 ? s_envelope(frames, n, env) : -1;
	if (first < 0) {
		free(env);
	} else {
		wire_error_t err;
		zmq_msg_t *body = NULL;
		op_caller_t caller;
		if (s_check_body(s, frames, first, n, total, &body, &err) < 0 ||
		    s_caller(s, body, &caller, &err) < 0) {
			s_count(NULL, err.code, at.started_ns);
			s_reply_error(s, env, &err, NULL);
		} else {
			s_dispatch(s, env, zmq_msg_data(body), zmq_msg_size(body), &at, &caller);
		}
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&frames[i]);
	return true;
}

static void s_on_idle(uv_idle_t *idle);

/*
 * Handles input until ZMQ_EVENTS shows none (or DRAIN_MAX messages, then the idle handle
 * brings us back), and flushes waiting replies when there is room.
 *
 * Messages are received until EAGAIN, and ZMQ_EVENTS is read after that run and after every
 * flush, not after every recv: each read of it costs libzmq a poll() on its mailbox, which
 * was 15% of this thread. What the edge-triggered ZMQ_FD needs holds: the last call before
 * the loop blocks is a read of ZMQ_EVENTS that showed no input (here, and in the prepare
 * handle after replies were sent).
 */
static void s_drain(server_t *s)
{
	if (s->stopping)
		return;
	int events = s_events(s->router), handled = 0;
	for (;;) {
		if ((events & ZMQ_POLLOUT) && s->waiting) {
			s_flush(s);
			events = s_events(s->router);
		}
		if (!(events & ZMQ_POLLIN) || handled >= DRAIN_MAX)
			break;
		int before = handled;
		while (handled < DRAIN_MAX && s_recv_one(s))
			handled++;
		events = s_events(s->router);
		if (handled == before)
			break; /* POLLIN without a message: the idle handle tries again */
	}
	if (events & ZMQ_POLLIN)
		uv_idle_start(&s->idle, s_on_idle);
	else
		uv_idle_stop(&s->idle);
}

static void s_on_poll(uv_poll_t *poll, int status, int events)
{
	(void)status;
	(void)events;
	s_drain(poll->data);
}

static void s_on_side_poll(uv_poll_t *poll, int status, int events)
{
	(void)status;
	(void)events;
	s_side_read(poll->data);
}

/*
 * Before the loop blocks: a send may have taken the commands that edge-triggered ZMQ_FD
 * signalled, so ZMQ_EVENTS is read again. A turn that sent nothing (an HTTP request or a
 * writer completion without a ZeroMQ reply or publication) skips it: each read is a poll() in
 * libzmq, five of them per turn across the sockets, a fifth of the daemon's CPU under HTTP
 * load (perf, bench/README.md).
 */
static void s_on_prepare(uv_prepare_t *prepare)
{
	server_t *s = prepare->data;
	if (!s->zmq_touched)
		return;
	s->zmq_touched = false;
	s_drain(s);
	s_side_read(s);
}

static void s_on_idle(uv_idle_t *idle)
{
	s_drain(idle->data);
}

/* A crashed reader process leaves a slot that stops page reuse; clear such slots hourly. */
static void s_on_readers(uv_timer_t *timer)
{
	server_t *s = timer->data;
	int dead = store_reader_check(s->store);
	if (dead > 0)
		log_info("cleared %d stale database reader slot(s)", dead);
}

static void s_on_signal(uv_signal_t *sig, int signum)
{
	log_info("received %s, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
	notify_stopping();
	server_stop(sig->data);
}

/*
 * True when something already listens on the ipc:// endpoint: libzmq would silently take the
 * path over from it, so a second daemon must be refused here.
 */
static bool s_ipc_in_use(const char *endpoint)
{
	const char *path = endpoint + strlen("ipc://");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool in_use = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return in_use;
}

/*
 * Binds an ipc:// endpoint with mode 0660, the daemon's user and group only, whatever the
 * umask. libzmq creates the socket file in this thread, so a umask set around zmq_bind()
 * leaves no moment at which the file is open to others; chmod() gives back what a stricter
 * umask took away. (The umask is the process's: a hook forked by a delivery thread during the
 * bind would inherit it. An abstract socket, ipc://@name, has no file and no mode.)
 */
static int s_bind_ipc(void *socket, const char *endpoint)
{
	mode_t umask_was = umask(0117);
	int rc = zmq_bind(socket, endpoint);
	int bind_errno = errno;
	umask(umask_was);
	char bound[PATH_MAX + 8];
	size_t len = sizeof bound;
	if (rc == 0 && zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, bound, &len) == 0 &&
	    strncmp(bound, "ipc://", 6) == 0 && bound[6] != '@' && chmod(bound + 6, 0660) < 0)
		log_warn("cannot make %s readable and writable by user and group only", bound + 6);
	errno = bind_errno;
	return rc;
}

/* Binds socket to ep; -1 with errno EADDRINUSE also when another process serves an ipc path. */
static int s_bind_one(void *socket, const char *ep)
{
	bool ipc = strncmp(ep, "ipc://", 6) == 0;
	if (ipc && s_ipc_in_use(ep)) {
		errno = EADDRINUSE;
		return -1;
	}
	return ipc ? s_bind_ipc(socket, ep) : zmq_bind(socket, ep);
}

/*
 * Binds socket to every endpoint. An endpoint in use is retried for up to retry_ms (0 at
 * start: another process holds it; a moment after a rebind: libzmq's I/O thread is still
 * releasing it from the socket just closed).
 */
static int s_bind_all(void *socket, char *const *endpoints, const char *what, int retry_ms,
		      char *errbuf, size_t errlen)
{
	for (size_t i = 0; endpoints[i]; i++) {
		const char *ep = endpoints[i];
		int rc, waited = 0;
		while ((rc = s_bind_one(socket, ep)) < 0 && errno == EADDRINUSE && waited < retry_ms) {
			usleep(10000);
			waited += 10;
		}
		if (rc < 0) {
			snprintf(errbuf, errlen, "cannot bind %s endpoint %s: %s", what, ep,
				 zmq_strerror(errno));
			return -1;
		}
		log_info("%s on %s", what, ep);
	}
	return 0;
}

/*
 * Binds the ZAP handler and, with CURVE, makes the ROUTER a CURVE server in its domain (the
 * XPUB is made one by s_pub_open()). The handler comes first: a CURVE socket bound before it
 * would not ask it.
 */
static int s_curve_open(server_t *s, char *errbuf, size_t errlen)
{
	const config_security_t *sec = &s->cfg->security;
	s->zap = zmq_socket(s->ctx, ZMQ_REP);
	int linger = 0;
	if (!s->zap || zmq_setsockopt(s->zap, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
	    zmq_bind(s->zap, ZAP_ENDPOINT) < 0) {
		snprintf(errbuf, errlen, "cannot bind the ZAP handler: %s", zmq_strerror(errno));
		return -1;
	}
	if (!sec->curve)
		return 0;
	if (zap_server_options(s->router, sec, ZAP_DOMAIN_API) < 0) {
		snprintf(errbuf, errlen, "cannot make the api socket a CURVE server: %s",
			 zmq_strerror(errno));
		return -1;
	}
	log_info("CURVE on, %zu client key(s); server public key %s", s->cfg->n_clients,
		 sec->public_key);
	return 0;
}

/*
 * Creates the publish socket (an XPUB, with CURVE when on), its monitor, and binds it to every
 * publish endpoint: at start, and again when a reload removes a subscriber's key.
 */
static int s_pub_open(server_t *s, char *errbuf, size_t errlen)
{
	int one = 1, linger = 2000, hwm = 100000;
	s->pub = zmq_socket(s->ctx, ZMQ_XPUB);
	if (!s->pub) {
		snprintf(errbuf, errlen, "cannot create the publish socket: %s", zmq_strerror(errno));
		return -1;
	}
	zmq_setsockopt(s->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(s->pub, ZMQ_LINGER, &linger, sizeof linger);
	/*
	 * Every subscription comes up with its sender, not only a prefix's first: the cap per
	 * peer needs to know who asks, and a prefix refused to one peer may be honoured for the
	 * next. Unsubscriptions still come only when a prefix's last holder goes.
	 */
	zmq_setsockopt(s->pub, ZMQ_XPUB_VERBOSE, &one, sizeof one);
	if (s->cfg->security.curve &&
	    zap_server_options(s->pub, &s->cfg->security, ZAP_DOMAIN_PUBLISH) < 0) {
		snprintf(errbuf, errlen, "cannot make the publish socket a CURVE server: %s",
			 zmq_strerror(errno));
		return -1;
	}
	if (s_monitor_open(s, &s->monitors[1], s->pub, "publish") < 0) {
		snprintf(errbuf, errlen, "cannot monitor the publish socket: %s", zmq_strerror(errno));
		return -1;
	}
	return s_bind_all(s->pub, s->cfg->publish, "publish", s->pub_generation ? 2000 : 0, errbuf,
			  errlen);
}

/* Creates and binds the ROUTER and PUB sockets. */
static int s_sockets_open(server_t *s, char *errbuf, size_t errlen)
{
	int one = 1, linger = 2000, hwm = 100000;
	/* Frames far larger than max_request_bytes are cut off by libzmq (the peer is dropped). */
	int64_t maxmsg = (int64_t)s->cfg->max_request_bytes * 4 + 16 * 1024 * 1024;
	s->ctx = zmq_ctx_new();
	s->router = s->ctx ? zmq_socket(s->ctx, ZMQ_ROUTER) : NULL;
	if (!s->router) {
		snprintf(errbuf, errlen, "cannot create sockets: %s", zmq_strerror(errno));
		return -1;
	}
	/* Without ROUTER_MANDATORY a full peer pipe drops replies silently. */
	zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
	zmq_setsockopt(s->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(s->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	zmq_setsockopt(s->router, ZMQ_LINGER, &linger, sizeof linger);
	if (s_curve_open(s, errbuf, errlen) < 0)
		return -1;
	if (s_monitor_open(s, &s->monitors[0], s->router, "api") < 0) {
		snprintf(errbuf, errlen, "cannot monitor the sockets: %s", zmq_strerror(errno));
		return -1;
	}
	if (s_bind_all(s->router, s->cfg->api, "api", 0, errbuf, errlen) < 0)
		return -1;
	return s_pub_open(s, errbuf, errlen);
}

static void s_sockets_close(server_t *s)
{
	/*
	 * The monitors' ends first: the monitored sockets stop their monitors as they close. Not
	 * zmq_socket_monitor(socket, NULL, 0), which waits for a lock that libzmq's I/O thread
	 * holds while it waits for room in a monitor's pipe that nobody reads any more.
	 */
	for (size_t i = 0; i < MONITORS; i++) {
		if (s->monitors[i].pair)
			zmq_close(s->monitors[i].pair);
		s->monitors[i].pair = NULL;
	}
	if (s->router)
		zmq_close(s->router);
	if (s->pub)
		zmq_close(s->pub);
	/* The handler outlives the sockets that ask it. */
	if (s->zap)
		zmq_close(s->zap);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	s->router = s->pub = s->zap = s->ctx = NULL;
}

#define SERVER_HANDLES 13
/* The poll handles allocated with their sockets: the XPUB's and the two monitors'. */
#define SERVER_SOCKET_POLLS 3

/* Every libuv handle of the server, in one list for starting and closing them. */
static void s_handles(server_t *s, uv_handle_t *out[SERVER_HANDLES])
{
	uv_handle_t *handles[SERVER_HANDLES] = {
		(uv_handle_t *)&s->poll,    (uv_handle_t *)&s->zap_poll,
		(uv_handle_t *)&s->sighup,
		(uv_handle_t *)&s->prepare, (uv_handle_t *)&s->idle,
		(uv_handle_t *)&s->side_idle,
		(uv_handle_t *)&s->monitors[0].timer, (uv_handle_t *)&s->monitors[1].timer,
		(uv_handle_t *)&s->retry,   (uv_handle_t *)&s->readers,
		(uv_handle_t *)&s->deadline_timer, (uv_handle_t *)&s->sigint,
		(uv_handle_t *)&s->sigterm,
	};
	memcpy(out, handles, sizeof handles);
}

/*
 * A poll handle watching socket's ZMQ_FD with cb, allocated: the XPUB and the monitors' PAIRs
 * are remade when a reload rebinds the publish socket, and a libuv handle can be set up anew
 * only after it was closed. NULL on failure.
 */
static uv_poll_t *s_poll_new(server_t *s, void *socket, uv_poll_cb cb)
{
	int fd;
	size_t len = sizeof fd;
	uv_poll_t *poll = malloc(sizeof *poll);
	if (!poll || zmq_getsockopt(socket, ZMQ_FD, &fd, &len) < 0 ||
	    uv_poll_init_socket(s->loop, poll, fd) < 0) {
		free(poll);
		return NULL;
	}
	poll->data = s;
	uv_poll_start(poll, UV_READABLE, cb);
	return poll;
}

static void s_on_poll_freed(uv_handle_t *handle)
{
	free(handle);
}

/* Stops and closes an allocated poll handle (freed once closed); accepts NULL. */
static void s_poll_drop(uv_poll_t **poll_p)
{
	if (!*poll_p)
		return;
	uv_poll_stop(*poll_p);
	uv_close((uv_handle_t *)*poll_p, s_on_poll_freed);
	*poll_p = NULL;
}

static void s_on_reload(uv_signal_t *sig, int signum);

/* Starts the handles that watch the sockets (ROUTER, XPUB, monitors) and the signals. */
static int s_handles_start(server_t *s)
{
	int fd, zap_fd;
	size_t len = sizeof fd;
	if (zmq_getsockopt(s->router, ZMQ_FD, &fd, &len) < 0 ||
	    zmq_getsockopt(s->zap, ZMQ_FD, &zap_fd, &len) < 0)
		return -1;
	uv_poll_init_socket(s->loop, &s->poll, fd);
	uv_poll_init_socket(s->loop, &s->zap_poll, zap_fd);
	uv_prepare_init(s->loop, &s->prepare);
	uv_idle_init(s->loop, &s->idle);
	uv_idle_init(s->loop, &s->side_idle);
	for (size_t i = 0; i < MONITORS; i++)
		uv_timer_init(s->loop, &s->monitors[i].timer);
	uv_timer_init(s->loop, &s->retry);
	uv_timer_init(s->loop, &s->readers);
	uv_timer_init(s->loop, &s->deadline_timer);
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_init(s->loop, &s->sigterm);
	uv_signal_init(s->loop, &s->sighup);
	uv_handle_t *handles[SERVER_HANDLES];
	s_handles(s, handles);
	for (size_t i = 0; i < SERVER_HANDLES; i++)
		handles[i]->data = s;
	s->open_handles = SERVER_HANDLES;
	uv_poll_start(&s->poll, UV_READABLE, s_on_poll);
	uv_poll_start(&s->zap_poll, UV_READABLE, s_on_side_poll);
	s->pub_poll = s_poll_new(s, s->pub, s_on_side_poll);
	for (size_t i = 0; i < MONITORS; i++)
		s->monitors[i].poll = s_poll_new(s, s->monitors[i].pair, s_on_side_poll);
	s->zmq_touched = true;
	uv_prepare_start(&s->prepare, s_on_prepare);
	uv_timer_start(&s->readers, s_on_readers, 3600 * 1000, 3600 * 1000);
	uv_unref((uv_handle_t *)&s->readers);
	uv_signal_start(&s->sigint, s_on_signal, SIGINT);
	uv_signal_start(&s->sigterm, s_on_signal, SIGTERM);
	uv_signal_start(&s->sighup, s_on_reload, SIGHUP);
	return s->pub_poll && s->monitors[0].poll && s->monitors[1].poll ? 0 : -1;
}

/* Loads the pending deadlines; those that passed while the daemon was down fire at once. */
static int s_deadlines_load(server_t *s, char *errbuf, size_t errlen)
{
	deadline_heap_init(&s->deadlines);
	int rc = breaches_load_deadlines(s->store, s->cfg, &s->deadlines);
	if (rc != 0) {
		snprintf(errbuf, errlen, "cannot load pending deadlines: %s", store_strerror(rc));
		return -1;
	}
	int64_t now = clock_now_ms();
	size_t overdue = 0;
	for (size_t i = 0; i < s->deadlines.n; i++)
		overdue += s->deadlines.items[i].due <= now;
	log_info("%zu pending deadline(s) armed, %zu already passed", s->deadlines.n, overdue);
	s_deadlines_arm(s);
	return 0;
}

/*
 * Registers every topic the daemon publishes (proto/topic.h): those of fixed names, and
 * breach.RULE for each rule.
 */
static int s_subs_topics(server_t *s)
{
	static const char *const fixed[] = TOPIC_FIXED_NAMES;
	char topic[sizeof TOPIC_BREACH_PREFIX + CONFIG_NAME_MAX];
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (sub_table_add_topic(s->subs, fixed[i]) < 0)
			return -1;
	for (size_t i = 0; i < s->cfg->n_rules; i++) {
		snprintf(topic, sizeof topic, TOPIC_BREACH_PREFIX "%s", s->cfg->rules[i].name);
		if (sub_table_add_topic(s->subs, topic) < 0)
			return -1;
	}
	return 0;
}

/*
 * The subscription table, under a random key: with a key a peer could guess it could choose
 * prefixes that collide and make every lookup walk one long chain.
 */
static int s_subs_new(server_t *s, char *errbuf, size_t errlen)
{
	uint8_t key[16];
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
		snprintf(errbuf, errlen, "cannot seed the subscription table: %s", strerror(errno));
		return -1;
	}
	s->subs = sub_table_new(SUBSCRIPTIONS_PER_PEER, key);
	if (!s->subs || s_subs_topics(s) < 0) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Closes the publish socket and binds a new one on the same endpoints: every subscription ends,
 * a removed key's with the others; the others reconnect by themselves and are admitted again
 * by the ZAP handler. Messages published meanwhile are lost to them (seq shows it).
 */
static void s_pub_rebind(server_t *s)
{
	char err[512];
	monitor_t *m = &s->monitors[1];
	s_poll_drop(&s->pub_poll);
	s_poll_drop(&m->poll);
	s->zmq_touched = true;
	if (m->pair)
		zmq_close(m->pair);
	zmq_close(s->pub);
	m->pair = s->pub = NULL;
	s->pub_generation++;
	sub_table_destroy(&s->subs);
	atomic_store(&s->listening, false);
	if (s_subs_new(s, err, sizeof err) < 0 || s_pub_open(s, err, sizeof err) < 0 ||
	    !(s->pub_poll = s_poll_new(s, s->pub, s_on_side_poll)) ||
	    !(m->poll = s_poll_new(s, m->pair, s_on_side_poll))) {
		log_warnx("reload: the publish socket could not be bound anew: %s; nothing is "
			  "published until a restart", err);
		if (s->pub)
			zmq_close(s->pub);
		s->pub = NULL;
		return;
	}
	log_info("reload: publish socket bound anew; subscribers reconnect");
}

/* True when client (of a set) may subscribe: operators and viewers. */
static bool s_subscribes(const config_client_t *c)
{
	return c && c->role != ROLE_PROVIDER;
}

/* True when two providers lists hold the same names in the same order. */
static bool s_same_providers(const config_client_t *a, const config_client_t *b)
{
	if (a->n_providers != b->n_providers)
		return false;
	for (size_t i = 0; i < a->n_providers; i++)
		if (strcmp(a->providers[i], b->providers[i]) != 0)
			return false;
	return true;
}

/*
 * Logs what a reload changes among the clients, and returns true when a key that could
 * subscribe before cannot now (removed, rotated, or no longer an operator or viewer): its
 * subscription must end.
 */
static bool s_clients_changed(const clients_t *was, const clients_t *now)
{
	const config_t *a = clients_config(was), *b = clients_config(now);
	char added[512] = "", removed[512] = "", changed[512] = "";
	bool drop = false;
	for (size_t i = 0; i < a->n_clients; i++) {
		const config_client_t *o = &a->clients[i];
		const config_client_t *n = clients_by_name(now, o->name);
		char *list = !n ? removed : NULL;
		if (n && (strcmp(n->public_key, o->public_key) != 0 || n->role != o->role ||
			  !s_same_providers(n, o)))
			list = changed;
		if (list)
			snprintf(list + strlen(list), 512 - strlen(list), " %s", o->name);
		drop = drop || (s_subscribes(o) && (!s_subscribes(n) || list == changed));
	}
	for (size_t i = 0; i < b->n_clients; i++)
		if (!clients_by_name(was, b->clients[i].name))
			snprintf(added + strlen(added), sizeof added - strlen(added), " %s",
				 b->clients[i].name);
	log_info("reload: %zu client(s); added:%s; removed:%s; changed:%s", b->n_clients,
		 added[0] ? added : " none", removed[0] ? removed : " none",
		 changed[0] ? changed : " none");
	return drop;
}

/*
 * SIGHUP: re-reads the config file's [client] sections and applies them to the next request
 * and handshake, without a restart and without touching a connection (but the publish
 * socket's, when a subscriber's key went). A file with errors changes nothing; changes to
 * other sections are reported and left for a restart. Returns 0, or -1 when nothing changed.
 */
static int s_reload(server_t *s)
{
	if (!s->config_path) {
		log_warnx("SIGHUP: running on the built-in configuration: no file to re-read");
		return -1;
	}
	config_diag_t diag = { 0 };
	char *text = NULL, changed[512];
	config_t *next = conf_file_load(s->config_path, &text, &diag);
	for (size_t i = 0; i < diag.n; i++)
		log_warnx("reload: %s", diag.lines[i]);
	config_diag_release(&diag);
	if (!next) {
		log_warnx("reload: %s has errors; the running clients stay as they were",
			  s->config_path);
		free(text);
		return -1;
	}
	if (s->config_text && config_sections_changed(s->config_text, text, changed,
						      sizeof changed) > 0)
		log_warnx("reload: %s changed in %s: not applied, that needs a restart", changed,
			  s->config_path);
	free(text);
	clients_t *fresh = clients_new(next, next);
	if (!fresh) {
		log_warnx("reload: out of memory; the running clients stay as they were");
		return -1;
	}
	bool drop = s_clients_changed(s->clients, fresh);
	clients_unref(&s->clients);
	s->clients = fresh;
	if (drop && s->cfg->security.curve)
		s_pub_rebind(s);
	return 0;
}

/* SIGHUP, told to systemd as RELOADING=1 then READY=1 with the outcome. */
static void s_on_reload(uv_signal_t *sig, int signum)
{
	server_t *s = sig->data;
	(void)signum;
	notify_reloading();
	if (s_reload(s) == 0)
		notify_ready("ready: reloaded, %zu client(s)", clients_config(s->clients)->n_clients);
	else
		notify_ready("ready: reload not applied, the running clients stay (see the log)");
}

/* Cluster mode, on the lease thread: the leader delivers the hooks, the others do not. */
static void s_on_leader(bool leader, void *arg)
{
	server_t *s = arg;
	if (!leader)
		alerts_stop(s->alerts);
	else if (alerts_start(s->alerts, s_on_alerts_publish, s) != 0)
		log_warnx("cluster: cannot start the hook delivery threads");
}

/* Cluster mode: a round of hook outcomes goes through the log (alerts_commit_fn). */
static int s_settle(const char *hook, const alerts_settled_t *settled, size_t n, void *arg)
{
	server_t *s = arg;
	return cluster_settle(s->cluster, hook, settled, n);
}

/* The writer's way to the stream (writer_log_t). */
static void s_cluster_append(writer_job_t *job, void *arg)
{
	cluster_append(arg, job);
}

static void s_cluster_applied(uint64_t seq, void *arg)
{
	cluster_applied(arg, seq);
}

bool server_ready(const server_t *s)
{
	return !s->cluster || cluster_ready(s->cluster);
}

server_t *server_new(uv_loop_t *loop, const config_t *cfg, const server_source_t *source,
		     store_t *store, alerts_t *alerts, cluster_t *cluster, char *errbuf,
		     size_t errlen)
{
	server_t *s = calloc(1, sizeof *s);
	if (!s) {
		free(source->text);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->cfg = cfg;
	s->config_path = source->path;
	s->config_text = source->text;
	s->store = store;
	s->started_ms = uv_now(loop);
	s->alerts = alerts;
	s->cluster = cluster;
	s->clients = clients_new(cfg, NULL);
	if (!s->clients) {
		snprintf(errbuf, errlen, "out of memory");
		free(s->config_text);
		free(s);
		return NULL;
	}
	if (s_subs_new(s, errbuf, errlen) < 0 || s_sockets_open(s, errbuf, errlen) < 0)
		goto fail;
	atomic_init(&s->listening, false);
	atomic_init(&s->stopping, false);
	s->writer = writer_new(loop, store, cfg, alerts, &s->listening, s_on_committed, s);
	if (!s->writer) {
		snprintf(errbuf, errlen, "cannot start the writer thread");
		goto fail;
	}
	if (s_handles_start(s) < 0) {
		snprintf(errbuf, errlen, "cannot watch the api socket: %s", zmq_strerror(errno));
		goto fail;
	}
	if (s_deadlines_load(s, errbuf, errlen) < 0)
		goto fail_handles;
	if (cluster) {
		/* The stream feeds the writer; hooks run on the leader alone (s_on_leader). */
		writer_set_log(s->writer, &(writer_log_t){ s_cluster_append, s_cluster_applied,
							   cluster });
		alerts_set_committer(alerts, s_settle, s);
		if (cluster_start(cluster, s->writer, s_on_leader, s, errbuf, errlen) != 0)
			goto fail_handles;
		return s;
	}
	/* Only now: a give-up is published through the writer. */
	if (alerts_start(alerts, s_on_alerts_publish, s) != 0) {
		snprintf(errbuf, errlen, "cannot start the hook delivery threads");
		goto fail_handles;
	}
	return s;
fail_handles:
	server_stop(s);
	return NULL;
fail:
	writer_stop(&s->writer);
	s_sockets_close(s);
	sub_table_destroy(&s->subs);
	clients_unref(&s->clients);
	free(s->config_text);
	free(s);
	return NULL;
}

/*
 * Once every handle is closed and no pool read is running, every reply that could be sent has
 * been: the sockets close.
 */
static void s_sockets_close_when_idle(server_t *s)
{
	if (s->open_handles > 0 || s->pool_reads > 0 || !s->router)
		return;
	s_waiting_release(s);
	s_sockets_close(s);
}

/* An allocated poll handle closed at stop: freed, and counted like the others. */
static void s_on_poll_closed(uv_handle_t *handle)
{
	server_t *s = handle->data;
	free(handle);
	s->open_handles--;
	s_sockets_close_when_idle(s);
}

static void s_on_handle_closed(uv_handle_t *handle)
{
	server_t *s = handle->data;
	s->open_handles--;
	s_sockets_close_when_idle(s);
}

void server_stop(server_t *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	uv_poll_stop(&s->poll);
	/*
	 * Cluster mode: no more entries are applied; requests still waiting for theirs are
	 * answered `unavailable` (their entries may yet be applied: a retry is a duplicate).
	 */
	cluster_stop(s->cluster);
	/*
	 * Hooks first: their attempts are abandoned at once, and the give-ups they committed
	 * meanwhile reach the writer before it stops.
	 */
	alerts_stop(s->alerts);
	/* Commits everything accepted; its replies go out through s_on_committed, now. */
	writer_stop(&s->writer);
	/* Replies to full pipes get a last bounded chance before the sockets close. */
	for (int i = 0; s->waiting && i < 1000; i++) {
		s_flush(s);
		if (s->waiting)
			usleep(1000);
	}
	uv_handle_t *handles[SERVER_HANDLES];
	s_handles(s, handles);
	for (size_t i = 0; i < SERVER_HANDLES; i++)
		uv_close(handles[i], s_on_handle_closed);
	uv_poll_t **polls[SERVER_SOCKET_POLLS] = { &s->pub_poll, &s->monitors[0].poll,
						   &s->monitors[1].poll };
	for (size_t i = 0; i < SERVER_SOCKET_POLLS; i++) {
		if (!*polls[i])
			continue;
		s->open_handles++;
		uv_poll_stop(*polls[i]);
		uv_close((uv_handle_t *)*polls[i], s_on_poll_closed);
		*polls[i] = NULL;
	}
}

void server_destroy(server_t **server_p)
{
	server_t *s = *server_p;
	if (!s)
		return;
	s_sockets_close(s);
	deadline_heap_release(&s->deadlines);
	clients_unref(&s->clients);
	sub_table_destroy(&s->subs);
	free(s->config_text);
	free(s);
	*server_p = NULL;
}
