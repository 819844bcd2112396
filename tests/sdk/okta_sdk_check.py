"""Drives the dyngroups Okta emulator with Okta's own Python SDK (PyPI `okta`).

Usage: python3 okta_sdk_check.py ORG_URL TOKEN
Needs OKTA_TESTING_TESTINGDISABLEHTTPSCHECK=true in the environment (plain HTTP on loopback).
Prints one JSON object with what it observed on its last line; exits non-zero on the first failure.
"""

import asyncio
import json
import sys

from okta.client import Client
from okta.pagination import PaginationHelper


def group_name(g):
    p = g.profile
    return getattr(p, "name", None) or getattr(getattr(p, "actual_instance", None), "name", None)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


async def main(org_url, token):
    client = Client({"orgUrl": org_url, "token": token, "rateLimit": {"maxRetries": 3}})
    seen = {}

    # Users across several pages (limit 1), following the Link header with the SDK's own helper.
    users, resp, err = await client.list_users(limit=1)
    check(err is None, f"list_users: {err}")
    pages = 1
    all_users = list(users)
    cursor = PaginationHelper.extract_next_cursor(resp.headers)
    while cursor:
        more, resp, err = await client.list_users(limit=1, after=cursor)
        check(err is None, f"list_users next page: {err}")
        all_users.extend(more)
        pages += 1
        cursor = PaginationHelper.extract_next_cursor(resp.headers)
        check(pages < 10, "pagination ends")
    seen["user_pages"] = pages
    seen["users"] = len(all_users)
    seen["logins"] = sorted(u.profile.login for u in all_users)

    # Groups, and one found by name.
    groups, resp, err = await client.list_groups()
    check(err is None, f"list_groups: {err}")
    seen["groups"] = len(groups)
    found, resp, err = await client.list_groups(search='profile.name eq "department_sales"')
    check(err is None, f"search group: {err}")
    check(len(found) == 1 and group_name(found[0]) == "department_sales", "group found by name")
    seen["found_group_id"] = found[0].id

    # Create a group, add and remove a member.
    from okta.models.add_group_request import AddGroupRequest
    from okta.models.okta_user_group_profile import OktaUserGroupProfile

    req = AddGroupRequest(profile=OktaUserGroupProfile(name="sdk_made", description="made by the SDK"))
    group, resp, err = await client.add_group(req)
    check(err is None, f"add_group: {err}")
    seen["created_group_id"] = group.id
    uid = all_users[0].id
    _, resp, err = await client.assign_user_to_group(group.id, uid)
    check(err is None, f"assign_user_to_group: {err}")
    members, resp, err = await client.list_group_users(group.id)
    check(err is None and [m.id for m in members] == [uid], f"member added: {err}")
    _, resp, err = await client.unassign_user_from_group(group.id, uid)
    check(err is None, f"unassign_user_from_group: {err}")
    members, resp, err = await client.list_group_users(group.id)
    check(err is None and len(members) == 0, f"member removed: {err}")

    # The schema endpoint has a budget of one call per (scaled) minute: the second call gets a 429,
    # which the SDK must wait out and retry.
    for i in range(2):
        schema, resp, err = await client.get_user_schema("default")
        check(err is None, f"get_user_schema #{i + 1}: {err}")
    seen["schema_ok"] = True
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
