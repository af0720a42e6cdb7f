# octavia (Debian bookworm's octavia-api/-worker, Zed) with noop amphora/compute drivers; API under
# uwsgi on 127.0.0.1:9876, one-thread processes behind uwsgi's HTTP router. Sourced by
# services.sh. pylib/lab_octavia_net.py is the noop network driver except that the VIP is a real
# neutron port (floating IPs can go on it). Load balancers reach provisioning_status ACTIVE;
# operating_status stays OFFLINE (no amphora heartbeats).

octavia_packages() { echo "octavia-api octavia-worker"; }
octavia_databases() { echo "octavia:octavia"; }

octavia_configure() {
  mkdir -p /etc/octavia/certs /var/lib/octavia/tmp /var/lib/octavia/certs
  # the worker reads [controller_worker] client_ca even with noop drivers
  [ -f /etc/octavia/certs/ca.key ] ||
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kaas-test-octavia-ca" \
      -keyout /etc/octavia/certs/ca.key -out /etc/octavia/certs/ca.pem 2> /dev/null
  wconf /etc/octavia/octavia.conf << EOF2
[DEFAULT]
host = $SVC_HOST
use_stderr = true
graceful_shutdown_timeout = 5
transport_url = $TRANSPORT_URL
[api_settings]
bind_host = $HOST_IP
bind_port = $PORT_OCTAVIA
auth_strategy = keystone
api_base_uri = http://$HOST_IP:$PORT_OCTAVIA
enabled_provider_drivers = amphora:'Amphora provider with noop compute/network/amphora drivers (tests)',noop_driver:'The noop provider driver'
default_provider_driver = amphora
[database]
connection = $(db_url octavia octavia)
[controller_worker]
workers = 1
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = ${OCTAVIA_NET_DRIVER:-lab_network_driver}
volume_driver = volume_noop_driver
image_driver = image_noop_driver
loadbalancer_topology = SINGLE
amp_image_tag = amphora
amp_flavor_id = kaas-noop
amp_boot_network_list = 00000000-0000-0000-0000-000000000000
client_ca = /etc/octavia/certs/ca.pem
[certificates]
cert_generator = local_cert_generator
cert_manager = local_cert_manager
ca_certificate = /etc/octavia/certs/ca.pem
ca_private_key = /etc/octavia/certs/ca.key
storage_path = /var/lib/octavia/certs
[health_manager]
bind_ip = $HOST_IP
heartbeat_key = insecure-test-key
[task_flow]
jobboard_enabled = false
[oslo_messaging]
topic = octavia_prov
[neutron]
region_name = $REGION
endpoint_type = public
[oslo_concurrency]
lock_path = /var/lib/octavia/tmp
$(authtoken_section octavia)
$(ksa_section service_auth octavia)
EOF2
}

octavia_setup() { octavia-db-manage --config-file /etc/octavia/octavia.conf upgrade head; }

launch_octavia() {
  # one-thread processes behind uwsgi's HTTP router, as nova-api (nova.sh): octavia's API runs
  # eventlet code too, and with 4 threads in one process a CI run on 2026-12-07 logged
  # "greenlet.error: cannot switch to a different thread" on the first authenticated requests,
  # after which no request was ever answered (docs/openstack.md, "eventlet and uwsgi threads")
  UWSGI_ROUTER=1 UWSGI_PROCESSES=${OCTAVIA_API_PROCESSES:-2} UWSGI_THREADS=1 \
    uwsgi_launch octavia-api $PORT_OCTAVIA /usr/bin/octavia-wsgi "pythonpath = $PYLIB"
  launch octavia-worker env PYTHONPATH="$PYLIB" octavia-worker --config-file /etc/octavia/octavia.conf
}
wait_octavia() { wait_http "http://$HOST_IP:$PORT_OCTAVIA/" 180 && wait_rpc_queue octavia_prov 180; }
octavia_procs() { echo "octavia-worker octavia-api"; }
