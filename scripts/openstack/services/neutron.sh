# neutron-server (Debian bookworm's, Zed) on 127.0.0.1:9696: ML2 with no agents. Sourced by
# services.sh. pylib/labmech.py ("labnoop") binds every port, so nova can boot on neutron
# networks; routers, gateways and floating IPs work at the API level; nothing forwards packets.

neutron_packages() { echo "neutron-server"; }
neutron_databases() { echo "neutron:neutron"; }

neutron_configure() {
  mkdir -p /var/lib/neutron/tmp
  wconf /etc/neutron/neutron.conf << EOF2
[DEFAULT]
host = $SVC_HOST
bind_host = $HOST_IP
bind_port = $PORT_NEUTRON
use_stderr = true
graceful_shutdown_timeout = 5
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $TRANSPORT_URL
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
allow_overlapping_ips = true
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
state_path = /var/lib/neutron
[database]
connection = $(db_url neutron neutron)
[oslo_concurrency]
lock_path = /var/lib/neutron/tmp
$(authtoken_section neutron)
$(ksa_section nova nova)
EOF2
  wconf /etc/neutron/plugins/ml2/ml2_conf.ini << EOF2
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
# labnoop ($PYLIB/labmech.py): binds every port without agents. Tests only.
mechanism_drivers = labnoop
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vlan]
network_vlan_ranges = public:100:199
[ml2_type_vxlan]
vni_ranges = 1:10000
[securitygroup]
enable_security_group = true
firewall_driver = noop
EOF2
}

neutron_setup() {
  neutron-db-manage --config-file /etc/neutron/neutron.conf \
    --config-file /etc/neutron/plugins/ml2/ml2_conf.ini upgrade head
}

launch_neutron() {
  launch neutron-server env PYTHONPATH="$PYLIB" neutron-server \
    --config-file /etc/neutron/neutron.conf --config-file /etc/neutron/plugins/ml2/ml2_conf.ini
}
wait_neutron() { wait_http "http://$HOST_IP:$PORT_NEUTRON/" 180; }
neutron_procs() { echo "neutron-server"; }
