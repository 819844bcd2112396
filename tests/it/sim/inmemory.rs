//! The in-memory face: `OktaApi` on `Emulator` with Okta's rules, HR mutators, the clock, the log.

use chrono::TimeDelta;
use dyngroups::okta::api::{GroupQuery, LogQuery, OktaApi};
use dyngroups::okta::model::{GroupProfile, GroupType, UserStatus};
use dyngroups::sim::{Emulator, Lifecycle, Seed};
use serde_json::json;

use crate::support::{SMALL_ORG, emulator};

fn profile(name: &str) -> GroupProfile {
    GroupProfile {
        name: name.into(),
        description: Some("d".into()),
        extra: Default::default(),
    }
}

#[tokio::test]
async fn okta_rules_in_memory() {
    let emu = emulator(SMALL_ORG);
    // Plain list hides DEPROVISIONED users; search shows them.
    assert_eq!(emu.list_users(None).await.unwrap().len(), 2);
    assert_eq!(
        emu.list_users(Some(r#"status eq "DEPROVISIONED""#))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        emu.list_users(Some(r#"profile.skills eq "RUST""#))
            .await
            .unwrap()
            .len(),
        1
    );
    let bad = emu
        .list_users(Some(r#"status ne "ACTIVE""#))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("E0000031"));

    let g = emu
        .create_group(&profile("department_engineering"))
        .await
        .unwrap();
    assert_eq!(g.group_type, GroupType::OktaGroup);
    assert!(g.id.starts_with("00g") && g.id.len() == 20);
    let dup = emu
        .create_group(&profile("DEPARTMENT_ENGINEERING"))
        .await
        .unwrap_err();
    assert_eq!((dup.status(), dup.code()), (Some(400), Some("E0000001")));
    // An OKTA_GROUP may share a name with an APP_GROUP.
    emu.create_group(&profile("location_zurich")).await.unwrap();
    let long = emu
        .create_group(&profile(&"x".repeat(256)))
        .await
        .unwrap_err();
    assert_eq!(long.code(), Some("E0000001"));
    let emoji = emu.create_group(&profile("team 🚀")).await.unwrap_err();
    assert_eq!(emoji.code(), Some("E0000001"));
    let mut p = profile("desc");
    p.description = Some("d".repeat(1025));
    assert_eq!(
        emu.create_group(&p).await.unwrap_err().code(),
        Some("E0000001")
    );

    let ana = emu.user("ana@example.com").unwrap();
    emu.add_member(&g.id, &ana.id).await.unwrap();
    emu.add_member(&g.id, &ana.id).await.unwrap(); // idempotent
    assert_eq!(emu.member_logins(&g.id), vec!["ana@example.com"]);
    emu.remove_member(&g.id, &ana.id).await.unwrap();
    emu.remove_member(&g.id, &ana.id).await.unwrap(); // idempotent
    let missing = emu.add_member(&g.id, "00unope").await.unwrap_err();
    assert!(missing.to_string().contains("(User)"), "{missing}");
    let missing = emu.add_member("00gnope", &ana.id).await.unwrap_err();
    assert!(missing.to_string().contains("(UserGroup)"), "{missing}");

    let app = emu.group_by_name("location_zurich").unwrap();
    let app = if app.group_type == GroupType::AppGroup {
        app
    } else {
        emu.groups()
            .into_iter()
            .find(|g| g.group_type == GroupType::AppGroup)
            .unwrap()
    };
    let everyone = emu.group_by_name("Everyone").unwrap();
    for gid in [&app.id, &everyone.id] {
        assert_eq!(
            emu.add_member(gid, &ana.id).await.unwrap_err().code(),
            Some("E0000006")
        );
        assert_eq!(
            emu.remove_member(gid, &ana.id).await.unwrap_err().code(),
            Some("E0000006")
        );
        assert_eq!(
            emu.update_group(gid, &profile("renamed"))
                .await
                .unwrap_err()
                .code(),
            Some("E0000006")
        );
    }
    assert_eq!(
        emu.delete_group(&everyone.id).await.unwrap_err().code(),
        Some("E0000006")
    );
    emu.delete_group(&app.id).await.unwrap();
    assert!(emu.get_group(&app.id).await.unwrap_err().is_not_found());

    let stats = emu
        .list_groups(&GroupQuery {
            q: Some("Every".into()),
            expand_stats: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stats[0].users_count(), Some(3));
    let schema = emu.user_schema().await.unwrap();
    assert_eq!(schema.definitions.base.properties.len(), 31);
    assert!(schema.definitions.custom.properties.contains_key("skills"));
}

#[tokio::test]
async fn hr_changes_move_timestamps_and_write_the_log() {
    let emu = emulator(SMALL_ORG);
    emu.set_now(chrono::Utc::now() + TimeDelta::days(1));
    let g = emu
        .create_group(&profile("department_sales_2"))
        .await
        .unwrap();
    let before = emu.user("ana@example.com").unwrap();
    emu.advance(TimeDelta::seconds(10));
    let after = emu
        .set_attribute("ana@example.com", "department", json!("Sales & Marketing"))
        .unwrap();
    assert!(after.last_updated > before.last_updated);
    assert_eq!(after.profile["department"], "Sales & Marketing");
    let since = after.last_updated.unwrap();
    let found = emu
        .list_users(Some(&format!(
            "lastUpdated ge \"{}\"",
            dyngroups::okta::model::okta_time::format(&since)
        )))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    emu.advance(TimeDelta::seconds(10));
    emu.add_member(&g.id, &after.id).await.unwrap();
    let g2 = emu.get_group(&g.id).await.unwrap();
    assert!(g2.last_membership_updated > g.last_membership_updated);
    emu.lifecycle("bo@example.com", Lifecycle::Suspend).unwrap();
    assert_eq!(
        emu.user("bo@example.com").unwrap().status,
        UserStatus::Suspended
    );
    assert!(emu.lifecycle("bo@example.com", Lifecycle::Suspend).is_err());
    emu.lifecycle("bo@example.com", Lifecycle::Unsuspend)
        .unwrap();
    emu.set_status("bo@example.com", UserStatus::Deprovisioned)
        .unwrap();
    assert_eq!(emu.list_users(None).await.unwrap().len(), 1);
    let bad = emu
        .set_attribute("ana@example.com", "notInSchema", json!("x"))
        .unwrap_err();
    assert!(bad.to_string().contains("notInSchema"), "{bad}");

    let all = emu.list_logs(&LogQuery::default()).await.unwrap();
    let types: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    for t in [
        "group.lifecycle.create",
        "user.account.update_profile",
        "group.user_membership.add",
        "user.lifecycle.suspend",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    let adds = emu
        .list_logs(&LogQuery {
            filter: Some(r#"eventType eq "group.user_membership.add""#.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(adds.len(), 1);
    let actor = adds[0].actor.as_ref().unwrap();
    assert_eq!(actor.actor_type, "User");
    assert!(
        adds[0]
            .target
            .iter()
            .any(|t| t.actor_type == "UserGroup" && t.id == g.id)
    );
}

#[test]
fn seeds_round_trip_and_bad_seeds_are_named() {
    let emu = emulator(SMALL_ORG);
    let again = Emulator::from_seed(emu.to_seed()).unwrap();
    assert_eq!(again.users().len(), 3);
    assert_eq!(
        again.member_logins(&again.group_by_name("department_sales").unwrap().id),
        vec!["bo@example.com"]
    );
    let e = Seed::from_yaml_str("groups: [{profile: {name: a}, members: [nobody@x]}]")
        .map(Emulator::from_seed);
    let msg = match e {
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
        Ok(Ok(_)) => panic!("accepted a member that does not exist"),
    };
    assert!(msg.contains("nobody@x"), "{msg}");
    let dup = Emulator::from_yaml("users: [{profile: {login: a@x}}, {profile: {login: A@x}}]")
        .unwrap_err();
    assert!(dup.to_string().contains("users[1]"), "{dup}");
    let dup =
        Emulator::from_yaml("groups: [{profile: {name: g}}, {profile: {name: g}}]").unwrap_err();
    assert!(dup.to_string().contains("groups[1]"), "{dup}");
    let generated = dyngroups::sim::generate::generate(300, 3);
    let emu = Emulator::from_seed(generated).unwrap();
    assert_eq!(emu.users().len(), 300);
}

#[tokio::test]
async fn renames_keep_okta_group_names_unique() {
    let emu = emulator(SMALL_ORG);
    let a = emu.create_group(&profile("a")).await.unwrap();
    let b = emu.create_group(&profile("b")).await.unwrap();
    assert_eq!(
        emu.update_group(&b.id, &profile("A"))
            .await
            .unwrap_err()
            .code(),
        Some("E0000001")
    );
    emu.update_group(&a.id, &profile("a2")).await.unwrap();
    emu.update_group(&b.id, &profile("a")).await.unwrap();
    emu.delete_group(&b.id).await.unwrap();
    emu.create_group(&profile("a")).await.unwrap();
    assert_eq!(
        emu.create_group(&profile("a2")).await.unwrap_err().code(),
        Some("E0000001")
    );
}

#[tokio::test]
async fn search_can_lag_behind_changes_like_okta() {
    let emu = emulator(SMALL_ORG);
    emu.set_now(chrono::Utc::now() + TimeDelta::days(1));
    emu.set_search_lag(Some(TimeDelta::seconds(2)));
    emu.set_attribute("ana@example.com", "department", json!("Legal"))
        .unwrap();
    let legal = r#"profile.department eq "Legal""#;
    assert!(
        emu.list_users(Some(legal)).await.unwrap().is_empty(),
        "not indexed yet"
    );
    let plain = emu.list_users(None).await.unwrap();
    assert!(
        plain.iter().any(|u| u.profile["department"] == "Legal"),
        "plain listing is current"
    );
    emu.advance(TimeDelta::seconds(3));
    assert_eq!(emu.list_users(Some(legal)).await.unwrap().len(), 1);
}
