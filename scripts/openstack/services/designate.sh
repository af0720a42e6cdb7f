# designate (Debian bookworm's packages) with the fake backend; API on 127.0.0.1:9001,
# designate-mdns answers DNS for the zones on 127.0.0.1:5354. Sourced by services.sh.

designate_packages() {
  echo "designate-api designate-central designate-worker designate-producer designate-mdns"
}
designate_databases() { echo "designate:designate"; }

designate_configure() {
  mkdir -p /var/lib/designate/tmp
  wconf /etc/designate/designate.conf << EOF2
[DEFAULT]
host = $SVC_HOST
use_stderr = true
graceful_shutdown_timeout = 5
transport_url = $TRANSPORT_URL
[service:api]
listen = $HOST_IP:$PORT_DESIGNATE
workers = 1
auth_strategy = keystone
api_base_uri = http://$HOST_IP:$PORT_DESIGNATE/
enable_api_v2 = true
enable_api_admin = true
enable_host_header = false
enabled_extensions_admin = quotas, reports
[service:central]
workers = 1
[service:mdns]
listen = $HOST_IP:$PORT_DESIGNATE_MDNS
workers = 1
[service:worker]
workers = 1
poll_retry_interval = 1
poll_max_retries = 5
poll_delay = 1
[service:producer]
workers = 1
[storage:sqlalchemy]
connection = $(db_url designate designate)
[oslo_concurrency]
lock_path = /var/lib/designate/tmp
$(authtoken_section designate)
EOF2
  # fake backend; NOTIFYs and the serial poll go to designate-mdns itself, so zones and
  # recordsets go ACTIVE
  wconf /etc/designate/pools.yaml << EOF2
- name: default
  description: KaaS test pool (fake backend)
  attributes: {}
  ns_records:
    - hostname: ns1.kaas.test.
      priority: 1
  nameservers:
    - host: $HOST_IP
      port: $PORT_DESIGNATE_MDNS
  targets:
    - type: fake
      description: fake target (no DNS server)
      masters:
        - host: $HOST_IP
          port: $PORT_DESIGNATE_MDNS
      options:
        host: $HOST_IP
        port: $PORT_DESIGNATE_MDNS
  also_notifies: []
EOF2
}

designate_setup() {
  designate-manage --config-file /etc/designate/designate.conf database sync
  # "pool update" is an RPC call to designate-central: lost if sent before central consumes
  pid_alive designate-central || STARTED_HERE="$STARTED_HERE designate-central"
  launch designate-central designate-central --config-file /etc/designate/designate.conf
  wait_rpc_queue central 120
  local i
  for i in 1 2 3 4 5 6; do
    designate-manage --config-file /etc/designate/designate.conf pool update \
      --file /etc/designate/pools.yaml && return 0
    sleep 5
  done
  echo "designate pool update failed" >&2
  return 1
}

launch_designate() {
  local c
  for c in central api mdns worker producer; do
    launch "designate-$c" "designate-$c" --config-file /etc/designate/designate.conf
  done
}
wait_designate() {
  wait_http "http://$HOST_IP:$PORT_DESIGNATE/" 180 && wait_rpc_queue central 180 &&
    wait_rpc_queue worker 180 && wait_port $PORT_DESIGNATE_MDNS 180
}
designate_procs() { echo "designate-producer designate-worker designate-mdns designate-api designate-central"; }
