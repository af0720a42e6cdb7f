# keystone (Debian bookworm's package, OpenStack Zed) under uwsgi on 127.0.0.1:5000.
# Sourced by services.sh.

# python3-pymemcache: the [cache] backend below; only a Recommends of the stack, so
# --no-install-recommends leaves it out and keystone-manage fails with ModuleNotFoundError.
keystone_packages() { echo "keystone python3-pymemcache"; }

keystone_databases() { echo "keystone:keystone"; }

keystone_configure() {
  wconf /etc/keystone/keystone.conf << EOF2
[DEFAULT]
use_stderr = true
[database]
connection = $(db_url keystone keystone)
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = /etc/keystone/fernet-keys/
[credential]
key_repository = /etc/keystone/credential-keys/
[identity]
# bcrypt cost 4 instead of the packaged 12: a password check costs ~1 ms instead of ~200 ms.
# Test keystone only.
password_hash_rounds = 4
[cache]
# without it keystone makes ~500 SQL round trips per request: ~1 s per token validation
enabled = true
backend = dogpile.cache.pymemcache
memcache_servers = $HOST_IP:$PORT_MEMCACHED
EOF2
}

keystone_setup() {
  local km="keystone-manage --config-file /etc/keystone/keystone.conf"
  $km db_sync
  $km fernet_setup --keystone-user root --keystone-group root
  $km credential_setup --keystone-user root --keystone-group root
  # creates (or keeps) user admin, project admin, roles admin/member/reader, region and the
  # identity endpoints; the password is reset only when it differs.
  $km bootstrap \
    --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-username admin \
    --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$KEYSTONE_URL/v3/" --bootstrap-internal-url "$KEYSTONE_URL/v3/" \
    --bootstrap-public-url "$KEYSTONE_URL/v3/"
}

# One thread per worker process, behind uwsgi's HTTP router. Zed's AuthContextMiddleware keeps
# the validated token on the middleware instance (self.token), which every thread of a process
# shares: with several threads, a request can be authorized with another request's token. Seen
# here as a demo user's application credential asking for the admin's roles while admin calls
# ran in parallel (about one in two under churn; 0 in 287 with one thread per process).
# The router holds client connections, so idle keep-alive connections do not pin a worker.
launch_keystone() {
  UWSGI_ROUTER=1 UWSGI_PROCESSES=${KEYSTONE_PROCESSES:-4} UWSGI_THREADS=1 \
    uwsgi_launch keystone $PORT_KEYSTONE /usr/bin/keystone-wsgi-public
}

# Returns when keystone answers on /v3: from then on no request races the app loading.
wait_keystone() { wait_http "$KEYSTONE_URL/v3" 90; }

keystone_procs() { echo "keystone"; }
