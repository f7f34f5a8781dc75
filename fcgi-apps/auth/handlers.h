/* handlers.h - the auth area's route handlers, one group per file. */
#ifndef AIGET_AUTH_HANDLERS_H
#define AIGET_AUTH_HANDLERS_H

#include "request.h"

/* accounts.c */
void accounts_register(struct request *req);
void accounts_login(struct request *req);
void accounts_me(struct request *req);
void accounts_password_change(struct request *req);
/* tokens.c */
void tokens_refresh(struct request *req);
/* sessions.c */
void sessions_logout(struct request *req);
void sessions_list(struct request *req);
void sessions_revoke_one(struct request *req);
void sessions_revoke_all(struct request *req);
/* otp.c */
void otp_send(struct request *req);
void otp_verify(struct request *req);
void otp_password_reset(struct request *req);
/* oauth.c */
void oauth_google_start(struct request *req);
void oauth_google_token(struct request *req);
void oauth_apple_start(struct request *req);
void oauth_apple_token(struct request *req);
void oauth_providers(struct request *req);

/* oauth_return.c */
void oauth_google_return(struct request *req);
void oauth_apple_return(struct request *req);
/* jwks.c */
void jwks_get(struct request *req);

#endif
