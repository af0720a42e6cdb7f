# glance (Debian bookworm's glance-api, Zed) on 127.0.0.1:9292, file store. Sourced by services.sh.

glance_packages() { echo "glance-api"; }
glance_databases() { echo "glance:glance"; }

glance_configure() {
  mkdir -p /var/lib/glance/images /var/lib/glance/staging /var/lib/glance/tasks_work_dir /var/lib/glance/tmp
  wconf /etc/glance/glance-api.conf << EOF2
[DEFAULT]
bind_host = $HOST_IP
bind_port = $PORT_GLANCE
workers = 1
use_stderr = true
graceful_shutdown_timeout = 5
enabled_backends = fs:file
[database]
connection = $(db_url glance glance)
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = /var/lib/glance/images/
[os_glance_staging_store]
filesystem_store_datadir = /var/lib/glance/staging/
[os_glance_tasks_store]
filesystem_store_datadir = /var/lib/glance/tasks_work_dir/
[paste_deploy]
flavor = keystone
[oslo_concurrency]
lock_path = /var/lib/glance/tmp
$(authtoken_section glance)
EOF2
}

glance_setup() { glance-manage --config-file /etc/glance/glance-api.conf db_sync > /dev/null; }

launch_glance() { launch glance-api glance-api --config-file /etc/glance/glance-api.conf; }
wait_glance() { wait_http "http://$HOST_IP:$PORT_GLANCE/" 120; }
glance_procs() { echo "glance-api"; }
