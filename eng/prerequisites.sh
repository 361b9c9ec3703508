#!/usr/bin/env bash
# Sourced by run.sh and test.sh: makes sure Redis and RabbitMQ can run, as containers or as local processes, and
# (for the tests) that a browser is there.
set -euo pipefail

container_runtime_answers() {
  { command -v docker >/dev/null && docker info >/dev/null 2>&1; } ||
  { command -v podman >/dev/null && podman info >/dev/null 2>&1; }
}

# Installs Debian packages as root, through sudo, or asks for them.
apt_install() {
  local install="apt-get update -qq && apt-get install -y -qq --no-install-recommends $*"
  if [ "$(id -u)" = "0" ]; then
    bash -c "$install"
  elif command -v sudo >/dev/null; then
    sudo bash -c "$install"
  else
    echo "Please install them first:  sudo $install" >&2
    exit 1
  fi
}

# The cost dashboard's browser tests drive Debian's chromium through Playwright (no browser download).
ensure_browser() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  echo "Installing Debian's chromium for the browser tests."
  apt_install chromium
}

ensure_infrastructure() {
  local mode="${Infrastructure__Mode:-auto}"
  if [ "$mode" = "container" ] || { [ "$mode" = "auto" ] && container_runtime_answers; }; then
    echo "Using the container runtime for Redis, RabbitMQ and PostgreSQL."
    return
  fi
  if [ -x /usr/bin/redis-server ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    return
  fi
  echo "No container runtime answers: installing Debian's redis-server, rabbitmq-server and postgresql to run as local processes."
  apt_install redis-server rabbitmq-server postgresql
  # Debian starts the services where systemd runs; the AppHost runs its own instances, so stop those.
  if command -v service >/dev/null && [ "$(id -u)" = "0" ]; then
    service redis-server stop >/dev/null 2>&1 || true
    service rabbitmq-server stop >/dev/null 2>&1 || true
    service postgresql stop >/dev/null 2>&1 || true
  fi
}
