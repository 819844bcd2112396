//! Reads the org into the planner's input (`OrgView`) through any `OktaApi`. (Being built: see issue 5.)
