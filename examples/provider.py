#!/usr/bin/env python3
"""A provider reporting one event to incidentd over ZeroMQ, with CURVE and safe retries.

What a provider's own system does: send an event (a stage of one of its incidents) and make
sure the daemon got it. The daemon replies only after the event is committed to disk, so no
reply means "not known to be stored": send it again. A retry carries the SAME event_id and
the same content, so the daemon answers it as a duplicate ("duplicate": true) instead of
recording it twice; a lost reply costs nothing. Each retry uses a new socket: a DEALER that
timed out may still hold the old request in its queue, and a fresh connection starts clean.

Keys are the files `incidentctl keygen` writes: the provider's pair (FILE, mode 0600, with
"public = ..." and "secret = ..." lines) and the daemon's public key (its FILE.pub, or the 40
characters of Z85). The daemon lets the key in with a [client NAME] section (role = provider,
providers = the provider names it speaks for).

Needs only pyzmq (Debian: python3-zmq) built with CURVE (libzmq with libsodium, as Debian's
is). Exit status: 0 accepted (or a duplicate), 1 the daemon refused the event, 2 usage error,
3 no reply after every attempt.

    examples/provider.py --key csp-north.key --server-key server.key.pub \\
        --endpoint tcp://incidentd.example.net:7420 \\
        --provider csp-north --event-id mon-1 --ref CSPN-42 --stage detected \\
        --category 2 --title "Broadband down in the north"
"""

import argparse
import json
import os
import sys
import time
import uuid

import zmq

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NO_REPLY = 0, 1, 2, 3


def read_key_file(path, want_secret):
    """The (public, secret) Z85 keys of a keygen file; secret is None when not wanted."""
    keys = {}
    with open(path, encoding="ascii") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            name, sep, value = (part.strip() for part in line.partition("="))
            if not sep or name not in ("public", "secret") or len(value) != 40:
                raise ValueError(f"{path}: line {number}: expected 'public = KEY' or 'secret = KEY'")
            keys[name] = value
    if "public" not in keys:
        raise ValueError(f"{path}: no public key")
    if want_secret and "secret" not in keys:
        raise ValueError(f"{path}: no secret key (give the pair's file from "
                         "`incidentctl keygen FILE`, not its .pub)")
    if want_secret and os.stat(path).st_mode & 0o077:
        raise ValueError(f"{path}: group or others can read this secret key (chmod 600 it)")
    return keys["public"], keys.get("secret") if want_secret else None


def server_public_key(value):
    """The daemon's public key: 40 characters of Z85 as given, or read from a key file."""
    if len(value) == 40 and not os.path.exists(value):
        return value
    return read_key_file(value, want_secret=False)[0]


def build_event(args):
    """The event request. Its content stays the same on every retry."""
    event = {"op": "event", "provider": args.provider, "event_id": args.event_id,
             "ref": args.ref, "stage": args.stage}
    optional = {"at": args.at, "category": args.category, "title": args.title,
                "service": args.service, "description": args.description,
                "source": args.source}
    event.update({k: v for k, v in optional.items() if v is not None})
    if args.major:
        event["major"] = True
    return event


def new_socket(context, args, keys):
    """A DEALER connected to the daemon, a CURVE client when keys is not None."""
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        public, secret, server = keys
        sock.curve_publickey = public.encode("ascii")
        sock.curve_secretkey = secret.encode("ascii")
        sock.curve_serverkey = server.encode("ascii")
    sock.connect(args.endpoint)
    return sock


def send_with_retries(context, args, keys, event):
    """Sends event until a reply comes or the attempts run out; returns the reply or None."""
    for attempt in range(1, args.attempts + 1):
        sock = new_socket(context, args, keys)
        try:
            # "id" is echoed in the reply and is not part of the event's content, so it may
            # change between attempts without making the retry a conflict.
            sock.send(json.dumps(dict(event, id=attempt)).encode("utf-8"))
            if sock.poll(args.timeout, zmq.POLLIN):
                return json.loads(sock.recv())
        finally:
            sock.close()
        print(f"provider.py: no reply within {args.timeout} ms (attempt {attempt} of "
              f"{args.attempts}); sending event {args.event_id} again", file=sys.stderr)
        time.sleep(min(args.backoff * 2 ** (attempt - 1), 30.0))
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Report one event to incidentd over ZeroMQ (CURVE when --key and "
                    "--server-key are given), retrying with the same event_id until the "
                    "daemon answers.",
        epilog="Exit status: 0 accepted or duplicate, 1 refused by the daemon, 2 usage "
               "error, 3 no reply after every attempt.")
    p.add_argument("-e", "--endpoint",
                   default=os.environ.get("INCIDENTD_API", "tcp://127.0.0.1:7420"),
                   help="the daemon's API endpoint (default $INCIDENTD_API, then "
                        "tcp://127.0.0.1:7420)")
    p.add_argument("--key", default=os.environ.get("INCIDENTD_KEY"),
                   help="this provider's key pair file, from `incidentctl keygen FILE` "
                        "(default $INCIDENTD_KEY)")
    p.add_argument("--server-key", default=os.environ.get("INCIDENTD_SERVER_KEY"),
                   help="the daemon's public key: its .pub file or 40 characters of Z85 "
                        "(default $INCIDENTD_SERVER_KEY)")
    p.add_argument("--provider", required=True, help="the provider reporting")
    p.add_argument("--event-id", default=None,
                   help="unique per provider; the same on every retry (default: a new "
                        "random id, printed)")
    p.add_argument("--ref", required=True, help="the provider's reference of the incident")
    p.add_argument("--stage", required=True, help="the stage reached, e.g. detected")
    p.add_argument("--at", help="when it happened, RFC 3339 (default: on arrival)")
    p.add_argument("--category", type=int, choices=range(1, 6), metavar="1-5",
                   help="required when the event opens an incident")
    p.add_argument("--title", help="required when the event opens an incident")
    p.add_argument("--service")
    p.add_argument("--description")
    p.add_argument("--major", action="store_true", help="the incident is major")
    p.add_argument("--source", choices=("provider", "monitoring"),
                   help="who saw it (default provider)")
    p.add_argument("--timeout", type=int, default=5000, metavar="MS",
                   help="how long to wait for each reply (default 5000)")
    p.add_argument("--attempts", type=int, default=5,
                   help="how many times to send before giving up (default 5)")
    p.add_argument("--backoff", type=float, default=1.0, metavar="S",
                   help="pause before the first retry, doubling up to 30 s (default 1)")
    args = p.parse_args(argv)
    if (args.key is None) != (args.server_key is None):
        p.error("CURVE needs both --key and --server-key (or neither, for a plaintext "
                "daemon on loopback)")
    if args.timeout < 1 or args.attempts < 1 or args.backoff < 0:
        p.error("--timeout and --attempts must be at least 1, --backoff at least 0")
    if args.event_id is None:
        args.event_id = "py-" + uuid.uuid4().hex
        print(f"provider.py: event_id {args.event_id}", file=sys.stderr)
    return args


def main(argv):
    args = parse_args(argv)
    keys = None
    if args.key is not None:
        try:
            public, secret = read_key_file(args.key, want_secret=True)
            keys = (public, secret, server_public_key(args.server_key))
        except (OSError, ValueError) as e:
            print(f"provider.py: {e}", file=sys.stderr)
            return EXIT_USAGE
        if not zmq.has("curve"):
            print("provider.py: this libzmq has no CURVE support", file=sys.stderr)
            return EXIT_USAGE
    context = zmq.Context()
    try:
        reply = send_with_retries(context, args, keys, build_event(args))
    finally:
        context.term()
    if reply is None:
        print(f"provider.py: no reply from {args.endpoint} after {args.attempts} attempts "
              "(the daemon may be down, or may not accept this key)", file=sys.stderr)
        return EXIT_NO_REPLY
    print(json.dumps(reply, sort_keys=True))
    return EXIT_OK if reply.get("ok") else EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
