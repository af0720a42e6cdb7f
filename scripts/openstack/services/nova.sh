# nova (Debian bookworm's nova-api/-conductor/-scheduler, Zed) with the fake compute driver;
# API under uwsgi on 127.0.0.1:8774. Sourced by services.sh. nova-compute runs from python3-nova
# (bin/nova-compute): the nova-compute package would pull qemu/libvirt. Servers go ACTIVE with a
# real neutron port; nothing boots.

nova_packages() { echo "nova-api nova-conductor nova-scheduler"; }
nova_databases() { echo "nova:nova_api nova:nova nova:nova_cell0"; }

nova_configure() {
  mkdir -p /var/lib/nova/tmp /var/lib/nova/instances
  wconf /etc/nova/nova.conf << EOF2
[DEFAULT]
host = $SVC_HOST
my_ip = $HOST_IP
use_stderr = true
graceful_shutdown_timeout = 5
transport_url = $TRANSPORT_URL
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = $HOST_IP
metadata_listen = $HOST_IP
state_path = /var/lib/nova
instances_path = /var/lib/nova/instances
allow_resize_to_same_host = true
[api]
auth_strategy = keystone
[api_database]
connection = $(db_url nova nova_api)
[database]
connection = $(db_url nova nova)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 5
[oslo_concurrency]
lock_path = /var/lib/nova/tmp
[vnc]
enabled = false
[spice]
enabled = false
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[cinder]
os_region_name = $REGION
[glance]
region_name = $REGION
$(authtoken_section nova)
$(ksa_section placement placement)
$(ksa_section neutron neutron)
service_metadata_proxy = false
# a service token, or cinder refuses to delete volume attachments (CVE-2023-2088 fix)
$(ksa_section service_user nova)
send_service_user_token = true
EOF2
  # nova-compute: the same minus the DB sections, or it logs "No DB access allowed"
  awk '/^\[/{skip=($0=="[database]"||$0=="[api_database]")} !skip' /etc/nova/nova.conf > /etc/nova/nova-compute.conf
}

nova_setup() {
  local nm="nova-manage --config-file /etc/nova/nova.conf"
  $nm api_db sync
  $nm cell_v2 list_cells 2> /dev/null | grep -q " cell0 " ||
    $nm cell_v2 map_cell0 --database_connection "$(db_url nova nova_cell0)"
  $nm cell_v2 list_cells 2> /dev/null | grep -q " cell1 " || $nm cell_v2 create_cell --name cell1 --verbose
  $nm db sync
}

launch_nova() {
  # eventlet monkey patching under uwsgi starves the AMQP heartbeat: RabbitMQ drops nova-api's
  # connection after 60 s idle and the next RPC call times out. Nova's documented switch:
  # OS_NOVA_DISABLE_EVENTLET_PATCHING=1. Unpatched, nova still runs eventlet code (semaphores,
  # timers, scatter-gather over cells) on whichever native thread serves the request, and with
  # several threads per process overlapping requests end in "greenlet.error: cannot switch to a
  # different thread" and every thread hangs. So one thread per process, several processes
  # behind uwsgi's HTTP router, as for keystone (docs/openstack.md, "nova-api and overlapping
  # requests"; scripts/openstack/nova-overlap.ts reproduces it). ~150 MB per process.
  UWSGI_ROUTER=1 UWSGI_PROCESSES=${NOVA_API_PROCESSES:-3} UWSGI_THREADS=1 \
    uwsgi_launch nova-api $PORT_NOVA /usr/bin/nova-api-wsgi "env = OS_NOVA_DISABLE_EVENTLET_PATCHING=1"
  launch nova-conductor nova-conductor --config-file /etc/nova/nova.conf
  launch nova-scheduler nova-scheduler --config-file /etc/nova/nova.conf
  launch nova-compute "$OS_DIR/bin/nova-compute" --config-file /etc/nova/nova-compute.conf
}
wait_nova() {
  wait_http "http://$HOST_IP:$PORT_NOVA/" 180 && wait_rpc_queue conductor 180 &&
    wait_rpc_queue scheduler 180 && wait_rpc_queue "compute.$SVC_HOST" 180 || return 1
  # nova-scheduler maps the compute host into cell1 every 5 s; discover_hosts as a fallback
  local i nm="nova-manage --config-file /etc/nova/nova.conf"
  for i in $(seq 1 120); do
    $nm cell_v2 list_hosts 2> /dev/null | grep -q " $SVC_HOST " && return 0
    [ $((i % 20)) != 0 ] || $nm cell_v2 discover_hosts > /dev/null 2>&1 || true
    sleep 1
  done
  echo "nova-compute host $SVC_HOST was not mapped into cell1" >&2
  return 1
}
nova_procs() { echo "nova-compute nova-scheduler nova-conductor nova-api"; }
