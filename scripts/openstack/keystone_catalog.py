#!/usr/bin/python3
"""Idempotently create the test cloud's projects (service, demo, alt_demo), users (demo, alt_demo,
one per service), roles, services and endpoints through the keystone v3 API (keystone must be
running). Run by install.sh. Adapted from the OpenStack lab.

Environment: KEYSTONE_URL, ADMIN_PASSWORD, DEMO_PASSWORD, SERVICE_PASSWORD, REGION, SERVICES
"""

import os
import sys

import requests

KS = os.environ.get("KEYSTONE_URL", "http://127.0.0.1:5000")
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
DEMO_PASSWORD = os.environ["DEMO_PASSWORD"]
SERVICE_PASSWORD = os.environ["SERVICE_PASSWORD"]
REGION = os.environ.get("REGION", "RegionOne")
ENABLED = os.environ.get("SERVICES", "").split()
H = "http://127.0.0.1"

# service name -> (type, url, service in KAAS services)
CATALOG = [
    ("glance", "image", f"{H}:9292", "glance"),
    ("placement", "placement", f"{H}:8778", "placement"),
    ("nova", "compute", f"{H}:8774/v2.1", "nova"),
    ("neutron", "network", f"{H}:9696", "neutron"),
    ("octavia", "load-balancer", f"{H}:9876", "octavia"),
    ("designate", "dns", f"{H}:9001", "designate"),
    ("cinderv3", "volumev3", f"{H}:8776/v3/%(project_id)s", "cinder"),
    ("cinder", "block-storage", f"{H}:8776/v3/%(project_id)s", "cinder"),
]
SERVICE_USERS = ["glance", "placement", "nova", "neutron", "octavia",
                 "designate", "cinder"]
EXTRA_ROLES = ["service", "load-balancer_member", "load-balancer_observer",
               "load-balancer_admin", "load-balancer_global_observer",
               "load-balancer_quota_admin"]

s = requests.Session()


def token():
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    r = s.post(f"{KS}/v3/auth/tokens", json=body)
    r.raise_for_status()
    s.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]


def get_one(path, key, **params):
    r = s.get(f"{KS}/v3/{path}", params=params)
    r.raise_for_status()
    items = r.json()[key]
    return items[0] if items else None


def ensure(path, key, singular, match, body):
    found = get_one(path, key, **match)
    if found:
        return found
    r = s.post(f"{KS}/v3/{path}", json={singular: body})
    if r.status_code not in (200, 201):
        sys.exit(f"create {singular} {body}: {r.status_code} {r.text}")
    print(f"created {singular} {body.get('name', body.get('url', ''))}")
    return r.json()[singular]


def grant(project, user, role):
    r = s.put(f"{KS}/v3/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    if r.status_code not in (200, 204):
        sys.exit(f"grant {role['name']}: {r.status_code} {r.text}")


def main():
    token()
    proj = {}
    for name, desc in (("service", "Service project"), ("demo", "Demo project"),
                       ("alt_demo", "Second tenant for isolation tests")):
        proj[name] = ensure("projects", "projects", "project",
                            {"name": name, "domain_id": "default"},
                            {"name": name, "domain_id": "default", "description": desc})
    proj["admin"] = get_one("projects", "projects", name="admin", domain_id="default")
    roles = {}
    for rn in ["admin", "member", "reader"] + EXTRA_ROLES:
        roles[rn] = ensure("roles", "roles", "role", {"name": rn}, {"name": rn})

    def user(name, password, project):
        u = ensure("users", "users", "user", {"name": name, "domain_id": "default"},
                   {"name": name, "domain_id": "default", "password": password,
                    "default_project_id": project["id"]})
        # keep the password in line with the config, but only PATCH it when it
        # differs: a password change revokes every token of that user, which
        # breaks running services that cached a service token.
        chk = requests.post(f"{KS}/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "id": u["id"], "password": password}}}}})
        if chk.status_code != 201:
            s.patch(f"{KS}/v3/users/{u['id']}", json={"user": {"password": password}})
            print(f"reset password of {name}")
        return u

    demo = user("demo", DEMO_PASSWORD, proj["demo"])
    grant(proj["demo"], demo, roles["member"])
    grant(proj["demo"], demo, roles["load-balancer_member"])
    alt = user("alt_demo", DEMO_PASSWORD, proj["alt_demo"])
    grant(proj["alt_demo"], alt, roles["member"])
    grant(proj["alt_demo"], alt, roles["load-balancer_member"])

    for su in SERVICE_USERS:
        u = user(su, SERVICE_PASSWORD, proj["service"])
        grant(proj["service"], u, roles["admin"])
        grant(proj["service"], u, roles["service"])

    for name, stype, url, switch in CATALOG:
        if switch not in ENABLED:
            continue
        svc = ensure("services", "services", "service", {"type": stype},
                     {"name": name, "type": stype, "enabled": True})
        for iface in ("public", "internal", "admin"):
            ep = get_one("endpoints", "endpoints", service_id=svc["id"], interface=iface)
            if ep and ep["url"] != url:
                s.patch(f"{KS}/v3/endpoints/{ep['id']}", json={"endpoint": {"url": url}})
            elif not ep:
                ensure("endpoints", "endpoints", "endpoint",
                       {"service_id": svc["id"], "interface": iface},
                       {"service_id": svc["id"], "interface": iface, "url": url,
                        "region_id": REGION, "enabled": True})
    print("keystone setup done")


if __name__ == "__main__":
    main()
