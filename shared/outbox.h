/* outbox.h - sending one plain-text email (one-time codes) by one of three transports.
 *
 * "dir" writes each message as a .eml file into a directory (the dev stack and
 * the tests read it), "smtp" hands it to a relay through libcurl, "sendmail"
 * pipes it into a local MTA's sendmail command.  All three take the same
 * RFC 5322 text built by outbox_format(), which refuses header injection and
 * addresses that are not plainly addr-spec shaped, so every transport gets
 * only well-formed input.  A send never takes longer than the configured
 * timeout: a slow relay or a stuck sendmail costs a request one bounded
 * failure, not a responder child.  Error texts never carry the SMTP password. */
#ifndef AIGET_OUTBOX_H
#define AIGET_OUTBOX_H

#include <stddef.h>

struct outbox;

struct outbox_config {
	const char *transport;         /* "dir" | "smtp" | "sendmail" */
	const char *dir;               /* dir: where the .eml files go */
	const char *smtp_url;          /* smtp: smtp://host:587 (STARTTLS) or smtps://host:465 */
	const char *smtp_user;         /* smtp: NULL or "" for no AUTH */
	const char *smtp_password;
	const char *smtp_ca_file;      /* smtp: NULL for the system CAs */
	const char *sendmail_command;  /* sendmail: absolute path and arguments, split on spaces */
	const char *from;              /* "Name <addr>" or "addr" */
	long timeout_ms;               /* bound on one outbox_send() (smtp, sendmail) */
	int smtp_require_tls;          /* smtp://: refuse to go on without STARTTLS */
};

/* Checks the configuration and keeps a copy of it; connects to nothing.
 * Returns NULL with a message in err. */
struct outbox *outbox_open(const struct outbox_config *cfg, char *err, size_t errlen);
void outbox_close(struct outbox *ob);

/* Sends one plain-text UTF-8 message to one address.  Returns 0, or -1 with
 * a message in err.  Never takes longer than timeout_ms. */
int outbox_send(struct outbox *ob, const char *to, const char *subject, const char *text,
		char *err, size_t errlen);

/* Builds the RFC 5322 message: From, To, Subject (RFC 2047 encoded words when
 * not plain ASCII), Date, Message-ID, MIME-Version, Content-Type text/plain;
 * charset=utf-8, quoted-printable body, CRLF line endings.  Returns malloc'd
 * text, or NULL with err when an address or the subject holds control
 * characters (header injection), an address is not addr-spec shaped, or the
 * subject or text is not UTF-8.  Exposed for the tests. */
char *outbox_format(const char *from, const char *to, const char *subject, const char *text,
		    char *err, size_t errlen);

#endif
