# placement (Debian bookworm's placement-api, Zed) under uwsgi on 127.0.0.1:8778. Sourced by
# services.sh.

placement_packages() { echo "placement-api"; }
placement_databases() { echo "placement:placement"; }

placement_configure() {
  wconf /etc/placement/placement.conf << EOF2
[DEFAULT]
use_stderr = true
graceful_shutdown_timeout = 5
[api]
auth_strategy = keystone
[placement_database]
connection = $(db_url placement placement)
$(authtoken_section placement)
EOF2
}

placement_setup() { placement-manage --config-file /etc/placement/placement.conf db sync; }

# one-thread processes, as nova-api and octavia-api (docs/openstack.md, "eventlet and uwsgi threads")
launch_placement() {
  UWSGI_ROUTER=1 UWSGI_PROCESSES=${PLACEMENT_PROCESSES:-2} UWSGI_THREADS=1 \
    uwsgi_launch placement $PORT_PLACEMENT /usr/bin/placement-api
}
wait_placement() { wait_http "http://$HOST_IP:$PORT_PLACEMENT/" 120; }
placement_procs() { echo "placement"; }
