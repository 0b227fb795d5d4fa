#!/usr/bin/env bash
# A lecture hall on one machine: Redis (the shared rooms), N app processes, and nginx in front of
# them with sticky sessions (a browser stays on the process that holds its session); Ctrl-C stops
# them all.
#
#   make classroom PROCESSES=2 [PORT=8080] [ADDRESS=0.0.0.0] [CERT=cert.pem KEY=key.pem [HTTP_PORT=80]]
#
# With CERT and KEY (a PEM certificate chain and its private key) the classroom is served over
# HTTPS on PORT: plain HTTP sent to that port, and to HTTP_PORT where given, is redirected to it.
# Without them everything travels in clear, the lecturer password and the room keys included.
#
# Rooms start only with the lecturer password behind the proxy (every request arrives through
# it): set SENET_VIZ_LECTURER_PASSWORD, or one is made and printed here. nginx and redis-server
# are Debian's packages, installed when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
PROCESSES=${PROCESSES:-2}
PORT=${PORT:-8080}
ADDRESS=${ADDRESS:-0.0.0.0}
PY=${PY:-.venv/bin/python}
RUN=$(mktemp -d /tmp/senet-classroom.XXXXXX)
# nginx's workers run as nobody when started by root: they must reach their buffer folders in here
# (a large answer or upload is buffered to disk; denied, the browser's request fails)
chmod 711 "$RUN"

need() {  # the path of a Debian package's program, installed when missing and allowed
  local program=$1 package=$2
  if ! command -v "$program" >/dev/null 2>&1 && [ -x /usr/sbin/"$program" ]; then PATH=$PATH:/usr/sbin; fi
  if ! command -v "$program" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >"$RUN/apt.log" 2>&1 || true
      PATH=$PATH:/usr/sbin
    fi
  fi
  command -v "$program" >/dev/null 2>&1 || { echo "error: $program is missing: apt-get install $package" >&2; exit 2; }
}
need nginx nginx-light
need redis-server redis-server

SCHEME=http
if [ -n "${CERT:-}${KEY:-}" ]; then
  [ -r "${CERT:-}" ] && [ -r "${KEY:-}" ] || { echo "error: CERT and KEY must both name readable PEM files" >&2; exit 2; }
  SCHEME=https
fi

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN"
  echo "classroom stopped"
}
trap stop INT TERM EXIT

if [ -z "${SENET_VIZ_LECTURER_PASSWORD:-}" ]; then
  SENET_VIZ_LECTURER_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(9))')
  echo "lecturer password (type it under 'Start a room'): $SENET_VIZ_LECTURER_PASSWORD"
fi
export SENET_VIZ_LECTURER_PASSWORD

REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --protected-mode yes \
  >"$RUN/redis.log" 2>&1 &
pids+=($!)
export SENET_VIZ_ROOMS="redis://127.0.0.1:$REDIS_PORT/0"

upstreams=""
for i in $(seq 1 "$PROCESSES"); do
  port=$(free_port)
  "$PY" -m streamlit run app.py --server.port "$port" --server.address 127.0.0.1 --server.headless true \
    --browser.gatherUsageStats false >"$RUN/app-$i.log" 2>&1 &
  pids+=($!)
  # max_fails=0: one failed request does not send a process's browsers to another one for 10 s
  upstreams+="    server 127.0.0.1:$port max_fails=0;"$'\n'
  for _ in $(seq 1 240); do
    "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/_stcore/health', timeout=2)" \
      >/dev/null 2>&1 && break
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "error: app process $i did not start (see $RUN/app-$i.log)" >&2; exit 2; }
    sleep 0.5
  done
done

# Where the browsers connect: HTTPS with the certificate (plain HTTP to that port, error 497 in
# nginx, and to HTTP_PORT is redirected), else plain HTTP. The route cookie is never read by a
# script (HttpOnly), and under HTTPS it and the app's own cookies travel only encrypted (Secure).
server_block() {
  local listen="listen $ADDRESS:$PORT;" extra="" secure=""
  if [ "$SCHEME" = https ]; then
    listen="listen $ADDRESS:$PORT ssl;
    ssl_certificate $(realpath "$CERT"); ssl_certificate_key $(realpath "$KEY");
    ssl_protocols TLSv1.2 TLSv1.3;
    error_page 497 =301 https://\$host:$PORT\$request_uri;"
    extra="proxy_cookie_flags ~ secure;
      add_header Strict-Transport-Security \"max-age=86400\" always;"
    secure="; Secure"
  fi
  cat <<BLOCK
  server {
    $listen
    location / {
      proxy_pass http://senet;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_read_timeout 1d;
      $extra
      add_header Set-Cookie "senet_route=\$senet_route; Path=/; HttpOnly; SameSite=Lax$secure" always;
      add_header X-Senet-Upstream \$upstream_addr always;
    }
  }
BLOCK
  if [ "$SCHEME" = https ] && [ -n "${HTTP_PORT:-}" ]; then
    echo "  server { listen $ADDRESS:$HTTP_PORT; return 301 https://\$host:$PORT\$request_uri; }"
  fi
}

# Sticky sessions without nginx plus: a browser's first request draws a route cookie at random;
# every later request of that browser (its websocket above all) hashes to the same process.
cat >"$RUN/nginx.conf" <<EOF
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $RUN/body; proxy_temp_path $RUN/proxy; fastcgi_temp_path $RUN/fastcgi;
  uwsgi_temp_path $RUN/uwsgi; scgi_temp_path $RUN/scgi;
  client_max_body_size 60m;
  map \$cookie_senet_route \$senet_route { "" \$request_id; default \$cookie_senet_route; }
  map \$http_upgrade \$connection_upgrade { default upgrade; "" close; }
  upstream senet {
    hash \$senet_route consistent;
$upstreams  }
$(server_block)
}
EOF
nginx -t -q -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' 2>"$RUN/nginx-test.log" \
  || { cat "$RUN/nginx-test.log" >&2; exit 2; }
nginx -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' &
pids+=($!)
[ "$SCHEME" = http ] && echo "warning: plain HTTP: the lecturer password, room keys and answer ids travel in clear (CERT= KEY= for HTTPS)" >&2
echo "classroom: $SCHEME://$ADDRESS:$PORT with $PROCESSES app processes and Redis on 127.0.0.1:$REDIS_PORT (Ctrl-C stops all)"
status=0
wait -n "${pids[@]}" || status=$?
if [ "$status" -le 128 ]; then echo "a classroom process ended ($status); stopping the others" >&2; fi
