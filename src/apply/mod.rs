//! Executes exactly a plan's actions against Okta, journalled, in a safe order, under the failsafe.
