/*
 * notify: systemd's service notification protocol (sd_notify(3)), for a unit of Type=notify.
 *
 * The daemon tells the service manager where it stands: STATUS= lines through start-up,
 * READY=1 once its sockets are bound, its store open and its deadlines loaded, RELOADING=1
 * and READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM/SIGINT, and WATCHDOG=1 from the
 * event loop when the unit sets WatchdogSec=.
 *
 * Every function is a no-op when NOTIFY_SOCKET is unset (not started by systemd), so callers
 * call them unconditionally. A failure to send is logged once and otherwise ignored: the
 * daemon serves whether or not the manager hears it. Not thread-safe: call from the main
 * (event loop) thread; the manager accepts messages from the main process only
 * (NotifyAccess=main), and it is that process which sends them.
 */
#ifndef INCIDENTD_DAEMON_SYS_NOTIFY_H
#define INCIDENTD_DAEMON_SYS_NOTIFY_H

#include <stdint.h>

/*
 * Sends STATUS=TEXT (printf format): a one-line description of what the daemon is doing,
 * shown by `systemctl status`.
 */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends READY=1 with STATUS=TEXT (printf format): start-up or a reload is complete. */
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Sends RELOADING=1 with MONOTONIC_USEC= (the clock the manager compares, systemd >= 253) and
 * STATUS=reloading: a reload began; notify_ready() ends it.
 */
void notify_reloading(void);

/* Sends STOPPING=1 with STATUS=stopping: the daemon is shutting down. */
void notify_stopping(void);

/* Sends WATCHDOG=1: the event loop is alive. */
void notify_watchdog(void);

/*
 * The interval in microseconds at which WATCHDOG=1 should be sent (half of the manager's
 * WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), or 0 when the watchdog is off (no
 * WATCHDOG_USEC, or a WATCHDOG_PID that is another process's).
 */
uint64_t notify_watchdog_interval_usec(void);

#endif
