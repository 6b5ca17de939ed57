"""Who may do what: site scope, staff accounts and sign-in (throttled), bearer tokens,
dashboard sessions, participants' one-time codes and app sessions, EDC keys.

Private modules: ``_scope`` (reading rows through the actor's sites), ``_auth``
(accounts, passwords, tokens, API keys), ``_throttle`` (sign-in limits),
``_staff_sessions`` (the dashboard's cookie sessions), ``_one_time_codes`` (the
app's sign-in by SMS code), ``_participant_sessions`` (the app's sessions),
``_edc_keys`` (who an EDC key is).
"""

from service.actions.access._auth import (
    BadCredentials,
    actor_for_token,
    add_api_key,
    add_staff_user,
    authenticate_staff,
    issue_token,
    login,
    set_staff_active,
)
from service.actions.access._edc_keys import actor_for_edc_key
from service.actions.access._one_time_codes import (
    OTP_BODY_PLACEHOLDER,
    CodeRejected,
    purge_stale_codes,
    request_code,
    verify_code,
)
from service.actions.access._participant_sessions import (
    SESSION_IDLE,
    end_participant_session,
    participant_for_session,
    revoke_by_staff,
    revoke_sessions,
)
from service.actions.access._scope import in_site_scope, participant_for, scoped_participants
from service.actions.access._staff_admin import (
    StaffAccount,
    add_staff,
    change_staff,
    set_staff_active_by,
    set_staff_password,
    staff_accounts,
)
from service.actions.access._staff_sessions import (
    SignedIn,
    end_session,
    normal_locale,
    purge_ended_sessions,
    set_session_locale,
    signed_in,
    start_dashboard_session,
)
from service.actions.access._throttle import (
    ACCOUNT_MAX_FAILURES,
    LoginThrottled,
    purge_old_attempts,
)

__all__ = [
    "ACCOUNT_MAX_FAILURES",
    "OTP_BODY_PLACEHOLDER",
    "SESSION_IDLE",
    "BadCredentials",
    "CodeRejected",
    "LoginThrottled",
    "SignedIn",
    "StaffAccount",
    "actor_for_edc_key",
    "actor_for_token",
    "add_api_key",
    "add_staff",
    "add_staff_user",
    "authenticate_staff",
    "change_staff",
    "end_participant_session",
    "end_session",
    "in_site_scope",
    "issue_token",
    "login",
    "normal_locale",
    "participant_for",
    "participant_for_session",
    "purge_ended_sessions",
    "purge_old_attempts",
    "purge_stale_codes",
    "request_code",
    "revoke_by_staff",
    "revoke_sessions",
    "scoped_participants",
    "set_session_locale",
    "set_staff_active",
    "set_staff_active_by",
    "set_staff_password",
    "signed_in",
    "staff_accounts",
    "start_dashboard_session",
    "verify_code",
]
