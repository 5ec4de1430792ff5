//! The requests about users, grants, sessions and API keys, each to its
//! `Auth` method (which decides access and records the change). The
//! session a request came with is the caller's (`Caller::session`).

use super::{OpError, Resolve};
use crate::Berth;
use crate::access::Caller;
use crate::model::ops::{self as req, UserChange};
use crate::model::{ApiKeyInfo, CreatedApiKey, Grant, SessionInfo, User, UserDetail};

impl Resolve for req::AddUser {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<User, OpError> {
        let role = self.role();
        Ok(berth.auth.create_user(caller, &self.name, &self.password, role).await?)
    }
}

impl Resolve for req::GetUser {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<UserDetail, OpError> {
        Ok(berth.auth.user_detail(caller, self.id).await?)
    }
}

impl Resolve for req::ChangeUser {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<User, OpError> {
        Ok(match self.change().map_err(OpError::invalid)? {
            UserChange::Disabled(d) => berth.auth.set_disabled(caller, self.id, d).await?,
            UserChange::Role(r) => berth.auth.set_role(caller, self.id, r).await?,
        })
    }
}

impl Resolve for req::DeleteUser {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.auth.delete_user(caller, self.id).await?)
    }
}

impl Resolve for req::ResetPassword {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.auth.reset_password(caller, self.id, &self.password).await?)
    }
}

impl Resolve for req::GetGrants {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<Grant>, OpError> {
        Ok(berth.auth.user_detail(caller, self.id).await?.grants)
    }
}

impl Resolve for req::SetGrants {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<Grant>, OpError> {
        Ok(berth.auth.set_grants(caller, self.id, self.grants).await?)
    }
}

impl Resolve for req::ChangePassword {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        let keep = caller.session();
        Ok(berth
            .auth
            .change_password(caller, &self.current, &self.password, keep)
            .await?)
    }
}

impl Resolve for req::MySessions {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<SessionInfo>, OpError> {
        Ok(berth.auth.sessions(caller, caller.session()).await?)
    }
}

impl Resolve for req::EndSession {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<(), OpError> {
        Ok(berth.auth.end_session(caller, &self.handle).await?)
    }
}

impl Resolve for req::MyKeys {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<Vec<ApiKeyInfo>, OpError> {
        Ok(berth.auth.keys(caller).await?)
    }
}

impl Resolve for req::CreateKey {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<CreatedApiKey, OpError> {
        Ok(berth.auth.create_key(caller, self.key).await?)
    }
}

impl Resolve for req::RevokeKey {
    async fn resolve(self, berth: &Berth, caller: &Caller) -> Result<ApiKeyInfo, OpError> {
        Ok(berth.auth.revoke_key(caller, &self.id).await?)
    }
}
