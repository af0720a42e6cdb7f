# cinder (Debian bookworm's cinder-api/-scheduler, Zed) with cinder's fake volume driver; API under
# uwsgi on 127.0.0.1:8776. Sourced by services.sh. cinder-volume runs from python3-cinder
# (bin/cinder-volume): the cinder-volume package would pull lvm2/tgt/open-iscsi.

cinder_packages() { echo "cinder-api cinder-scheduler"; }
cinder_databases() { echo "cinder:cinder"; }

cinder_configure() {
  mkdir -p /var/lib/cinder/tmp
  wconf /etc/cinder/cinder.conf << EOF2
[DEFAULT]
host = $SVC_HOST
my_ip = $HOST_IP
use_stderr = true
graceful_shutdown_timeout = 5
transport_url = $TRANSPORT_URL
auth_strategy = keystone
osapi_volume_listen = $HOST_IP
osapi_volume_workers = 1
state_path = /var/lib/cinder
enabled_backends = fake
default_volume_type = __DEFAULT__
glance_api_servers = http://$HOST_IP:$PORT_GLANCE
[database]
connection = $(db_url cinder cinder)
[oslo_concurrency]
lock_path = /var/lib/cinder/tmp
[fake]
# $PYLIB/lab_cinder.py: cinder.tests.fake_driver.FakeLoggingVolumeDriver + no-op image copy
volume_driver = lab_cinder.LabFakeVolumeDriver
volume_backend_name = fake
$(authtoken_section cinder)
$(ksa_section nova cinder)
EOF2
}

cinder_setup() { cinder-manage --config-file /etc/cinder/cinder.conf db sync; }

launch_cinder() {
  # one-thread processes, as nova-api and octavia-api (eventlet code on several native threads
  # of one process can hang them all: docs/openstack.md, "eventlet and uwsgi threads")
  UWSGI_ROUTER=1 UWSGI_PROCESSES=${CINDER_API_PROCESSES:-2} UWSGI_THREADS=1 \
    uwsgi_launch cinder-api $PORT_CINDER /usr/bin/cinder-wsgi
  launch cinder-scheduler cinder-scheduler --config-file /etc/cinder/cinder.conf
  launch cinder-volume env PYTHONPATH="$PYLIB" "$OS_DIR/bin/cinder-volume" --config-file /etc/cinder/cinder.conf
}
wait_cinder() {
  wait_http "http://$HOST_IP:$PORT_CINDER/" 180 && wait_rpc_queue cinder-scheduler 180 &&
    wait_rpc_queue "cinder-volume.$SVC_HOST@fake" 180
}
cinder_procs() { echo "cinder-volume cinder-scheduler cinder-api"; }
