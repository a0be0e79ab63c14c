/*
 * notify: sd_notify(3) with the daemon's messages. libsystemd does the protocol itself
 * (NOTIFY_SOCKET, abstract socket names, credentials); this file only says what to send.
 */
#include "daemon/sys/notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "daemon/sys/log.h"

/* Longest STATUS= text sent; a longer one is cut (systemctl shows one line anyway). */
#define NOTIFY_STATUS_MAX 400

static bool s_warned;

/* Sends state (newline-separated assignments); the first failure is logged. */
static void s_send(const char *state)
{
	if (!getenv("NOTIFY_SOCKET"))
		return;
	int rc = sd_notify(0, state);
	if (rc < 0 && !s_warned) {
		s_warned = true;
		log_warnx("systemd notification not sent: %s (NOTIFY_SOCKET=%s)", strerror(-rc),
			  getenv("NOTIFY_SOCKET"));
	}
}

/* Sends "PREFIXSTATUS=TEXT", TEXT formatted from fmt and ap, with newlines made spaces. */
static void s_send_status(const char *prefix, const char *fmt, va_list ap)
{
	char text[NOTIFY_STATUS_MAX], msg[NOTIFY_STATUS_MAX + 64];
	vsnprintf(text, sizeof text, fmt, ap);
	for (char *c = text; *c; c++)
		if (*c == '\n')
			*c = ' ';
	snprintf(msg, sizeof msg, "%sSTATUS=%s", prefix, text);
	s_send(msg);
}

void notify_status(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s_send_status("", fmt, ap);
	va_end(ap);
}

void notify_ready(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s_send_status("READY=1\n", fmt, ap);
	va_end(ap);
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[128];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec =
		(unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading", usec);
	s_send(msg);
}

void notify_stopping(void)
{
	s_send("STOPPING=1\nSTATUS=stopping: committing and answering what was accepted");
}

void notify_watchdog(void)
{
	s_send("WATCHDOG=1");
}

uint64_t notify_watchdog_interval_usec(void)
{
	uint64_t usec = 0;
	if (!getenv("NOTIFY_SOCKET") || sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2 > 0 ? usec / 2 : 1;
}
