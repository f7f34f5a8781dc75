/* otp.c - one-time email codes: send, verify, and the password reset they allow.
 *
 * A code is 6 digits, lives 5 minutes, and is stored only as an HMAC (keyed
 * by AUTH_SECRET, bound to purpose and email) in Redis; a new code replaces
 * the live one of the same purpose and email.  Five wrong tries void it.
 * /otp/send answers 202 whether or not the account exists, and sends the mail
 * after the answer has gone, so neither the body nor the timing tells.
 *
 * Five tries a code, five codes an hour, still leave about 25 guesses an
 * hour, so an address also has a daily cap of wrong codes
 * (AUTH_OTP_DAILY_WRONG_MAX, all purposes together, counted atomically in
 * the verify script): once reached, its codes are locked until a day after
 * the first wrong one, and its owner is told by one mail.  Locked, /otp/send
 * stores and sends nothing yet answers the same 202, and every code is
 * refused with the message of a wrong one, so that the lockout tells
 * whoever provoked it nothing about the address that the owner's mail does
 * not tell the owner.
 *
 * A right login or verify_email code proves the mailbox, and so claims an
 * account whose address was unverified (claim.c): its registrant may be
 * someone else, and loses the password and sessions.  The one exception is
 * the registrant confirming the address from their own session
 * (verify_email with that account's access token), who holds both. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "fields.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "redis.h"

#define OTP_TTL_S 300
#define OTP_COOLDOWN_S 60
#define OTP_MAX_TRIES 5
#define OTP_WRONG_WINDOW_S 86400

static const char *const purposes[] = { "login", "verify_email", "reset_password", NULL };

/* KEYS: code, tries, wrong.  ARGV: hmac, max tries, consume, daily max, its
 * window.  1 right, 0 none, -1 wrong, -2 locked (right or wrong), -3 wrong
 * and now locked: returned once per lockout, so the owner hears once. */
static struct redis_script verify_script = {
	"if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then return -2 end\n"
	"local stored = redis.call('GET', KEYS[1])\n"
	"if not stored then return 0 end\n"
	"if stored == ARGV[1] then\n"
	"  if ARGV[3] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end\n"
	"  return 1\n"
	"end\n"
	"local n = redis.call('INCR', KEYS[2])\n"
	"redis.call('EXPIRE', KEYS[2], " "300" ")\n"
	"if n >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1], KEYS[2]) end\n"
	"local w = redis.call('INCR', KEYS[3])\n"
	"if redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], ARGV[5]) end\n"
	"if w == tonumber(ARGV[4]) then return -3 end\n"
	"return -1\n",
	"",
};
/* KEYS: code, tries, wrong.  ARGV: hmac, ttl, daily max.  One live code; its
 * tries start at 0.  0 and nothing stored while the address is locked. */
static struct redis_script store_script = {
	"if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[3]) then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
	"redis.call('DEL', KEYS[2])\n"
	"return 1\n",
	"",
};

struct otp_mail {
	char *to, *subject, *text;
};

struct otp_keys {
	char *code, *tries, *cooldown;  /* of one purpose and address */
	char *wrong;                    /* of the address: wrong codes within the day */
};

/* Keys by digest of the lower-cased address: Redis never holds an email. */
static void otp_keys(struct request *req, const char *purpose, const char *email, struct otp_keys *k)
{
	char lower[EMAIL_MAX + 1], hex[65];
	unsigned char d[CRYPTO_SHA256_LEN];
	size_t n = strlen(email);
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] - 'A' + 'a' : email[i]);
	crypto_sha256(lower, n, d);
	crypto_hex(d, sizeof d, hex);
	k->code = arena_printf(req->arena, "auth:otp:%s:%s", purpose, hex);
	k->tries = arena_printf(req->arena, "auth:otptries:%s:%s", purpose, hex);
	k->cooldown = arena_printf(req->arena, "auth:otpcd:%s:%s", purpose, hex);
	k->wrong = arena_printf(req->arena, "auth:otpwrong:%s", hex);
}

static const char *daily_max(struct request *req)
{
	return arena_printf(req->arena, "%lld", req->ctx->cfg.auth_otp_daily_wrong_max);
}

static char *code_hmac(struct request *req, const char *purpose, const char *email, const char *code)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *msg = arena_printf(req->arena, "otp:%s:%s:%s", purpose, email, code);
	for (char *p = msg; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	const char *secret = req->ctx->cfg.auth_secret;
	crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac);
	char *hex = arena_alloc(req->arena, 65);
	crypto_hex(mac, sizeof mac, hex);
	return hex;
}

/* Six uniformly random digits (rejection sampling, no modulo bias). */
static int new_code(char out[7])
{
	unsigned v;
	do {
		if (crypto_random(&v, sizeof v) != 0)
			return -1;
	} while (v >= 4294000000u);
	snprintf(out, 7, "%06u", v % 1000000u);
	return 0;
}

static void send_mail(struct app_context *ctx, void *arg)
{
	struct otp_mail *m = arg;
	char err[256];
	if (ctx->outbox == NULL) {
		struct outbox_config oc = {
			.transport = ctx->cfg.mail_transport, .dir = ctx->cfg.mail_dir, .smtp_url = ctx->cfg.smtp_url,
			.smtp_user = ctx->cfg.smtp_user, .smtp_password = ctx->cfg.smtp_password,
			.smtp_ca_file = ctx->cfg.smtp_ca_file, .sendmail_command = ctx->cfg.sendmail_command,
			.from = ctx->cfg.mail_from, .timeout_ms = ctx->cfg.mail_timeout_ms,
			.smtp_require_tls = (int)ctx->cfg.smtp_require_tls,
		};
		ctx->outbox = outbox_open(&oc, err, sizeof err);
		ctx->outbox_close = outbox_close;
		if (ctx->outbox == NULL) {
			log_error("mail outbox unusable: %s", err);
			return;
		}
	}
	if (outbox_send(ctx->outbox, m->to, m->subject, m->text, err, sizeof err) != 0)
		log_error("mail \"%s\" not sent: %s", m->subject, err);
	else
		log_info("mail \"%s\" sent", m->subject);
}

static const char *subject_for(const char *purpose)
{
	if (strcmp(purpose, "login") == 0)
		return "Your Aiget sign-in code";
	if (strcmp(purpose, "verify_email") == 0)
		return "Confirm your email for Aiget";
	return "Your Aiget password reset code";
}

void otp_send(struct request *req)
{
	static const char *const allowed[] = { "email", "purpose", NULL };
	const char *raw, *purpose;
	char email[EMAIL_MAX + 1], err[256];
	if (origin_check(req) < 0 || limits_hit(req, LIMIT_OTP_SEND_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "email", 1, 320, &raw) != 0 || field_enum(req, "purpose", 1, purposes, &purpose) != 0)
		return;
	if (email_normalize(raw, email) != 0) {
		response_error(req, 400, "invalid_request", "email is not a valid address");
		return;
	}
	struct otp_keys k;
	otp_keys(req, purpose, email, &k);

	/* The cooldown and the hourly cap apply to any address alike, so they
	 * reveal nothing about which addresses have accounts. */
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "SET %s 1 NX EX %d", k.cooldown, OTP_COOLDOWN_S);
	if (rep == NULL) {
		response_unavailable(req, "otp", err);
		return;
	}
	int cooling = rep->type == REDIS_REPLY_NIL;
	freeReplyObject(rep);
	if (cooling) {
		rep = redis_command(req->ctx->redis, err, sizeof err, "TTL %s", k.cooldown);
		long long ttl = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? rep->integer : OTP_COOLDOWN_S;
		freeReplyObject(rep);
		metrics_rate_limited(METRICS_LIMIT_ABUSE);
		response_header(req, "Retry-After", arena_printf(req->arena, "%lld", ttl));
		response_error(req, 429, "rate_limited", "a code was sent recently; retry in %lld seconds", ttl);
		return;
	}
	if (limits_hit(req, LIMIT_OTP_SEND_EMAIL, email) != 0)
		return;

	struct user_store_user u;
	char code[7] = "";
	int found = users_by_email(req, email, &u), stored = 0;
	if (found < 0)
		return;
	if (found) {
		if (new_code(code) != 0) {
			response_error(req, 500, "internal", "could not make a code");
			return;
		}
		const char *args[] = { k.code, k.tries, k.wrong, code_hmac(req, purpose, email, code),
				       arena_printf(req->arena, "%d", OTP_TTL_S), daily_max(req) };
		rep = redis_script_run(req->ctx->redis, &store_script, 3, 6, args, err, sizeof err);
		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
			freeReplyObject(rep);
			response_unavailable(req, "otp", rep ? "store script failed" : err);
			return;
		}
		stored = rep->integer == 1;
		freeReplyObject(rep);
	}
	if (stored) {
		struct otp_mail *m = arena_alloc(req->arena, sizeof *m);
		m->to = arena_strdup(req->arena, u.email);
		m->subject = arena_strdup(req->arena, subject_for(purpose));
		m->text = arena_printf(req->arena,
				       "Your code is %s.\r\n\r\nIt expires in %d minutes and works once. If you did not "
				       "ask for it, you can ignore this message.\r\n", code, OTP_TTL_S / 60);
		request_defer(req, send_mail, m);
	}
	/* The answer below is the same when the codes are locked. */
	audit_event(req, found && !stored ? "otp_withheld" : "otp_sent", found ? u.id : NULL, email,
		    json_object_new_string(purpose));
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "sent", json_object_new_boolean(1));
	json_object_object_add(body, "expiresIn", json_object_new_int(OTP_TTL_S));
	response_json(req, 202, body);
}

/* The owner of an address whose codes the daily cap has just locked hears
 * of it, with when it ends; the mail carries no code. */
static void lockout_notice(struct request *req, const char *email, const char *wrong_key)
{
	struct user_store_user u;
	char err[256], until[32];
	if (users_by_email(req, email, &u) != 1)
		return; /* deleted meanwhile, or the database failed (answered 503) */
	redisReply *rep = redis_command(req->ctx->redis, err, sizeof err, "TTL %s", wrong_key);
	long long ttl = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? rep->integer : OTP_WRONG_WINDOW_S;
	freeReplyObject(rep);
	time_t end = time(NULL) + (time_t)ttl;
	struct tm tm;
	strftime(until, sizeof until, "%Y-%m-%d %H:%M UTC", gmtime_r(&end, &tm));
	long long max = req->ctx->cfg.auth_otp_daily_wrong_max;
	struct otp_mail *m = arena_alloc(req->arena, sizeof *m);
	m->to = arena_strdup(req->arena, u.email);
	m->subject = arena_strdup(req->arena, "Sign-in codes for your Aiget account are paused");
	m->text = arena_printf(req->arena,
			       "%lld wrong one-time codes were entered for this address within a day, so its codes "
			       "are paused until %s: none is sent until then, and none sent before works.\r\n\r\n"
			       "If that was not you, someone may be guessing codes to get into your account, and the "
			       "pause stops them. Other ways of signing in (your password, Google, Apple) still "
			       "work.\r\n", max, until);
	request_defer(req, send_mail, m);
	log_warn("one-time codes of user %s locked until %s: %lld wrong codes", u.id, until, max);
	audit_event(req, "otp_locked", u.id, u.email, json_object_new_int64(max));
}

/* Checks a code; 1 right, 0 wrong or none (answered 400), -1 answered otherwise. */
static int check_code(struct request *req, const char *purpose, const char *email, const char *code, int consume)
{
	char err[256];
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6) {
		response_error(req, 400, "invalid_request", "code must be 6 digits");
		return -1;
	}
	struct otp_keys k;
	otp_keys(req, purpose, email, &k);
	const char *args[] = { k.code, k.tries, k.wrong, code_hmac(req, purpose, email, code),
			       arena_printf(req->arena, "%d", OTP_MAX_TRIES), consume ? "1" : "0", daily_max(req),
			       arena_printf(req->arena, "%d", OTP_WRONG_WINDOW_S) };
	redisReply *rep = redis_script_run(req->ctx->redis, &verify_script, 3, 8, args, err, sizeof err);
	if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(rep);
		response_unavailable(req, "otp", rep ? "verify script failed" : err);
		return -1;
	}
	long long r = rep->integer;
	freeReplyObject(rep);
	if (r == 1)
		return 1;
	if (r == -3)
		lockout_notice(req, email, k.wrong);
	/* Locked (-2) reads as wrong: see the top of the file. */
	response_error(req, 400, "invalid_request", "the code is wrong or has expired");
	return 0;
}

/* The session a verify_email request comes from: 1 with holder filled when
 * it carries a good access token, 0 when it carries none, -1 answered (401
 * or 503).  Checked before the code is spent, so that a registrant whose
 * token has just expired refreshes and retries instead of losing the
 * account's password to their own code. */
static int verifying_session(struct request *req, struct auth_user *holder)
{
	char why[256];
	if (FCGX_GetParam("HTTP_AUTHORIZATION", req->fcgx->envp) == NULL)
		return 0;
	enum auth_result ar = auth_token_check(req, holder, why, sizeof why);
	if (ar == AUTH_OK)
		return 1;
	log_info("verify_email: access token refused: %s", why);
	auth_token_refuse(req, ar);
	return -1;
}

void otp_verify(struct request *req)
{
	static const char *const allowed[] = { "email", "code", "purpose", NULL };
	const char *raw, *code, *purpose;
	char email[EMAIL_MAX + 1];
	int browser = origin_check(req);
	if (browser < 0 || limits_hit(req, LIMIT_OTP_VERIFY_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "email", 1, 320, &raw) != 0 || field_string(req, "code", 1, 16, &code) != 0 ||
	    field_enum(req, "purpose", 1, purposes, &purpose) != 0)
		return;
	if (email_normalize(raw, email) != 0) {
		response_error(req, 400, "invalid_request", "email is not a valid address");
		return;
	}
	struct auth_user holder;
	int in_session = strcmp(purpose, "verify_email") == 0 ? verifying_session(req, &holder) : 0;
	if (in_session < 0)
		return;
	/* A reset code is only checked here; /password/reset spends it. */
	int consume = strcmp(purpose, "reset_password") != 0;
	if (check_code(req, purpose, email, code, consume) != 1)
		return;
	struct user_store_user u;
	int found = users_by_email(req, email, &u);
	if (found <= 0) {
		if (found == 0)
			response_error(req, 400, "invalid_request", "the code is wrong or has expired");
		return;
	}
	/* Whoever read the code owns the mailbox, and takes an unverified
	 * account unless it is the registrant's own session asking. */
	if (consume && !u.email_verified) {
		if (in_session && strcmp(holder.id, u.id) == 0) {
			if (users_set_verified(req, u.id) != 0)
				return;
			u.email_verified = 1;
		} else if (claim_account(req, &u, "claimed_by_email_code", "email_code") != 0) {
			return;
		}
	}
	audit_event(req, "otp_verified", u.id, u.email, json_object_new_string(purpose));
	if (strcmp(purpose, "login") == 0) {
		tokens_start_session(req, &u, 200, browser);
		return;
	}
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "verified", json_object_new_boolean(1));
	response_json(req, 200, body);
}

void otp_password_reset(struct request *req)
{
	static const char *const allowed[] = { "email", "code", "newPassword", NULL };
	const char *raw, *code, *pw;
	char email[EMAIL_MAX + 1], why[128], hash[PASSWORD_HASH_MAX];
	if (origin_check(req) < 0 || limits_hit(req, LIMIT_RESET_IP, NULL) != 0 || fields_only(req, allowed) != 0 ||
	    field_string(req, "email", 1, 320, &raw) != 0 || field_string(req, "code", 1, 16, &code) != 0 ||
	    field_string(req, "newPassword", 1, 1024, &pw) != 0)
		return;
	if (email_normalize(raw, email) != 0) {
		response_error(req, 400, "invalid_request", "email is not a valid address");
		return;
	}
	/* The policy first: a weak new password must not spend the code. */
	if (password_check_policy(pw, why, sizeof why) != 0) {
		response_error(req, 400, "invalid_request", "newPassword %s", why);
		return;
	}
	if (check_code(req, "reset_password", email, code, 1) != 1)
		return;
	struct user_store_user u;
	struct password_params params;
	users_password_params(req, &params);
	int found = users_by_email(req, email, &u);
	if (found <= 0) {
		if (found == 0)
			response_error(req, 400, "invalid_request", "the code is wrong or has expired");
		return;
	}
	if (password_hash(pw, &params, hash) != 0 || users_set_password(req, u.id, hash) != 0 ||
	    users_set_verified(req, u.id) != 0) {
		if (req->status == 0)
			response_error(req, 500, "internal", "could not set the password");
		return;
	}
	/* Whoever had the old password is signed out everywhere. */
	if (tokens_revoke_sessions(req, u.id, NULL, NULL, "password_reset") < 0)
		return;
	audit_event(req, "password_reset", u.id, u.email, NULL);
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "reset", json_object_new_boolean(1));
	response_json(req, 200, body);
}
