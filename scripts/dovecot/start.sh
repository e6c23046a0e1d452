#!/usr/bin/env bash
# Start a throw-away Dovecot IMAP server on loopback (triage's IMAP tests and bench/bench_imap.py).
# Adapted from the tested recipe in shared/recipes/dovecot. More users: append lines of the same
# form to BASE_DIR/users (passwd-file is re-read when it changes); each user gets BASE_DIR/mail/<user>.
#   usage: start.sh [BASE_DIR]          (default: $DOVECOT_TEST_DIR or ./run next to this script)
#   env:   IMAP_PORT=10143 IMAPS_PORT=10993 IMAP_USER=testuser IMAP_PASS=testpass MAIL_FSYNC=never
#          OAUTH2_INTROSPECTION_URL=http://127.0.0.1:PORT/introspect  (optional: also offer XOAUTH2 and
#          OAUTHBEARER, validating every token by POSTing token=<token> there; see oauth2.conf.in)
# Writes BASE_DIR/{dovecot.conf,users,ssl/cert.pem,ssl/key.pem,log/dovecot.log,run/master.pid,mail/}
# Prints "BASE=..." and the master PID. Requires: apt-get install dovecot-imapd dovecot-core openssl
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE=${1:-${DOVECOT_TEST_DIR:-$HERE/run}}
IMAP_PORT=${IMAP_PORT:-10143}
IMAPS_PORT=${IMAPS_PORT:-10993}
IMAP_USER=${IMAP_USER:-testuser}
IMAP_PASS=${IMAP_PASS:-testpass}
MAIL_FSYNC=${MAIL_FSYNC:-never}
OAUTH2_INTROSPECTION_URL=${OAUTH2_INTROSPECTION_URL:-}

mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
CONF="$BASE/dovecot.conf"
if [ -f "$BASE/run/master.pid" ] && kill -0 "$(cat "$BASE/run/master.pid")" 2>/dev/null; then
  echo "already running: PID $(cat "$BASE/run/master.pid")" >&2; exit 1
fi
mkdir -p "$BASE/run" "$BASE/state" "$BASE/mail" "$BASE/ssl" "$BASE/log"

# Mail processes may not run as uid 0 ("userdb returned 0 as uid"): as root, store mail as an
# unprivileged user (default nobody:nogroup, override with MAIL_USER). Non-root: rootless mode.
if [ "$(id -u)" = 0 ]; then
  MAIL_USER=${MAIL_USER:-nobody}
  INTERNAL_USER=dovecot; INTERNAL_GROUP=dovecot; LOGIN_USER=dovenull
else
  MAIL_USER=$(id -un); INTERNAL_USER=$MAIL_USER; INTERNAL_GROUP=$(id -gn); LOGIN_USER=$MAIL_USER
fi
MAIL_UID=$(id -u "$MAIL_USER"); MAIL_GID=$(id -g "$MAIL_USER")
FIRST_VALID_UID=$MAIL_UID; FIRST_VALID_GID=$MAIL_GID
# the auth (user dovecot) and imap (MAIL_USER) processes must be able to traverse BASE
chmod 755 "$BASE"
if [ "$(id -u)" = 0 ]; then chown "$MAIL_UID:$MAIL_GID" "$BASE/mail"; fi

# self-signed certificate valid for localhost and 127.0.0.1 (clients verify against cert.pem itself)
if [ ! -s "$BASE/ssl/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$BASE/ssl/key.pem" -out "$BASE/ssl/cert.pem" 2>/dev/null
  chmod 600 "$BASE/ssl/key.pem"
fi

# passwd-file: user:{SCHEME}password:uid:gid:gecos:home:shell:extra
# kept across restarts (users added by tests stay); the first start writes IMAP_USER
touch "$BASE/users"
if ! grep -q "^$IMAP_USER:" "$BASE/users"; then
  printf '%s:{PLAIN}%s::::::\n' "$IMAP_USER" "$IMAP_PASS" >> "$BASE/users"
fi
chmod 644 "$BASE/users"  # the auth process (running as user "dovecot") must read it

sed -e "s|@BASE@|$BASE|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" -e "s|@IMAPS_PORT@|$IMAPS_PORT|g" \
    -e "s|@MAIL_UID@|$MAIL_UID|g" -e "s|@MAIL_GID@|$MAIL_GID|g" \
    -e "s|@FIRST_VALID_UID@|$FIRST_VALID_UID|g" -e "s|@FIRST_VALID_GID@|$FIRST_VALID_GID|g" \
    -e "s|@MAIL_FSYNC@|$MAIL_FSYNC|g" \
    -e "s|@INTERNAL_USER@|$INTERNAL_USER|g" -e "s|@INTERNAL_GROUP@|$INTERNAL_GROUP|g" -e "s|@LOGIN_USER@|$LOGIN_USER|g" "$HERE/dovecot.conf.in" > "$CONF"

# OAuth2 passdb only when asked for (dovecot.conf includes oauth2.conf if it exists)
if [ -n "$OAUTH2_INTROSPECTION_URL" ]; then
  case "$OAUTH2_INTROSPECTION_URL" in
    *'|'*|*$'\n'*) echo "OAUTH2_INTROSPECTION_URL must not contain '|' or a newline" >&2; exit 1 ;;
  esac
  sed -e "s|@BASE@|$BASE|g" "$HERE/oauth2.conf.in" > "$BASE/oauth2.conf"
  URL_SED=$(printf '%s' "$OAUTH2_INTROSPECTION_URL" | sed -e 's/[&\\]/\\&/g')  # '&' and '\' are special to sed
  sed -e "s|@OAUTH2_INTROSPECTION_URL@|$URL_SED|g" "$HERE/dovecot-oauth2.conf.ext.in" \
    > "$BASE/dovecot-oauth2.conf.ext"
  chmod 644 "$BASE/dovecot-oauth2.conf.ext"  # read by the auth process
else
  rm -f "$BASE/oauth2.conf" "$BASE/dovecot-oauth2.conf.ext"
fi

doveconf -c "$CONF" -n > /dev/null   # fail early on config errors
# fail early (instead of "Temporary authentication failure" at LOGIN) if a parent dir is not o+x
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
  runuser -u "$INTERNAL_USER" -- test -r "$BASE/users" || { echo "user $INTERNAL_USER cannot read $BASE/users (every parent dir of BASE needs o+x)" >&2; exit 1; }
  runuser -u "$MAIL_USER" -- test -w "$BASE/mail" || { echo "user $MAIL_USER cannot write $BASE/mail (every parent dir of BASE needs o+x)" >&2; exit 1; }
fi
# daemonizes; master writes $BASE/run/master.pid. Detach stdio: the master keeps the inherited
# stderr open forever, so a caller reading our output through a pipe (subprocess capture_output)
# would otherwise wait for EOF forever.
dovecot -c "$CONF" </dev/null >/dev/null 2>>"$BASE/log/dovecot-stderr.log"

# wait until both listeners accept connections (max ~10 s)
for i in $(seq 1 100); do
  if [ -s "$BASE/run/master.pid" ] && (exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT) 2>/dev/null \
     && (exec 3<>/dev/tcp/127.0.0.1/$IMAPS_PORT) 2>/dev/null; then
    echo "BASE=$BASE"; echo "PID=$(cat "$BASE/run/master.pid")"; exit 0
  fi
  sleep 0.1
done
echo "dovecot did not come up; log:" >&2; tail -20 "$BASE/log/dovecot.log" >&2; exit 1
