#!/usr/bin/env bash
# Starts the local services the adapter tests talk to, if one is down. Commands from the
# machine notes; each is a no-op when the service already runs. A service that will not
# start fails `make test` here, with its port named, rather than as connection errors later.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done; echo "service on port $1 did not start" >&2; return 1; }
status=0

if ! up 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for 5432 || status=1
fi
if ! up 6379; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for 6379 || status=1
fi
if ! up 4222; then
  echo "starting NATS"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for 4222 || status=1
fi
exit $status
