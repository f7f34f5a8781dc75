/* outbox.c - the message format and the dir, smtp and sendmail transports.
 *
 * The message is built once, by outbox_format(), as 7-bit text: encoded words
 * for a subject or display name that is not plain ASCII, quoted-printable for
 * the body.  That makes the same bytes safe for a file, for any SMTP relay
 * (no 8BITMIME or SMTPUTF8 needed) and for any sendmail.  Addresses are held
 * to a conservative dot-atom shape, ASCII only, so that nothing a client typed
 * can become a header, an SMTP command or a sendmail option.
 *
 * Each transport bounds its own time: libcurl's overall timeout for SMTP (its
 * threaded resolver lets that cover DNS too), a deadline with SIGKILL to the
 * process group for sendmail.  The file transport is local and is not bounded.
 * A curl handle is made per send: codes are sent seldom, and a fresh
 * connection cannot be a stale one. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "utf8.h"

extern char **environ;

enum transport { TRANSPORT_DIR, TRANSPORT_SMTP, TRANSPORT_SENDMAIL, TRANSPORT__MAX };

static const char *const transport_names[TRANSPORT__MAX] = {
	[TRANSPORT_DIR] = "dir",
	[TRANSPORT_SMTP] = "smtp",
	[TRANSPORT_SENDMAIL] = "sendmail",
};

#define ADDR_MAX 254 /* RFC 5321 path limit less the brackets */

struct outbox {
	enum transport transport;
	long timeout_ms;
	char *from;
	char from_addr[ADDR_MAX + 1];
	/* dir */
	char *dir;
	/* smtp */
	char *smtp_url, *smtp_user, *smtp_password, *smtp_ca_file;
	int smtp_require_tls;
	int curl_initialised;
	/* sendmail: argv points into argv_text; one spare slot for the recipient */
	char *argv_text;
	char **argv;
	size_t argc;
	int argv_has_t;
};

/* ------------------------------------------------------------------ helpers */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void buf_addf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		b->oom = 1; /* only short, fixed-shape lines go through here */
	else
		buf_add(b, tmp, (size_t)n);
}

static long long realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* hex gets 2 * nbytes + 1 characters. */
static int random_hex(char *hex, size_t nbytes)
{
	unsigned char raw[32];
	if (nbytes > sizeof raw || getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		return -1;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static char *xstrdup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------- validation */

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

static int is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* local@domain with a dot-atom local part and a host-name domain: the shape
 * every relay accepts.  Quoted local parts, domain literals and non-ASCII
 * (SMTPUTF8) addresses are refused rather than half-supported. */
static int addr_spec_ok(const char *a, size_t n)
{
	const char *at = memchr(a, '@', n);
	if (at == NULL || n > ADDR_MAX)
		return 0;
	size_t local = (size_t)(at - a), domain = n - local - 1;
	if (local == 0 || local > 64 || domain == 0 || domain > 253)
		return 0;
	for (size_t i = 0; i < local; i++) {
		if (a[i] == '.') {
			if (i == 0 || i == local - 1 || a[i - 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)a[i])) {
			return 0;
		}
	}
	size_t label = 0;
	for (const char *p = at + 1; p <= a + n; p++) {
		if (p == a + n || *p == '.') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			   (*p == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* "addr" or "Display Name <addr>" (the name may be double-quoted).  Fills
 * addr and points name/namelen at the display name, unquoted (0 when none). */
static int parse_mailbox(const char *s, const char *what, char *addr, const char **name, size_t *namelen,
			 char *err, size_t errlen)
{
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "%s: no address", what);
		return -1;
	}
	if (has_control(s)) {
		snprintf(err, errlen, "%s: control characters are not allowed in an address", what);
		return -1;
	}
	const char *lt = strchr(s, '<'), *a = s;
	size_t n = strlen(s);
	*name = s;
	*namelen = 0;
	if (lt != NULL) {
		if (s[n - 1] != '>') {
			snprintf(err, errlen, "%s: expected Name <user@domain>", what);
			return -1;
		}
		a = lt + 1;
		n = (size_t)(s + strlen(s) - 1 - a);
		size_t nl = (size_t)(lt - s);
		while (nl > 0 && s[nl - 1] == ' ')
			nl--;
		if (nl >= 2 && s[0] == '"' && s[nl - 1] == '"') {
			*name = s + 1;
			nl -= 2;
			if (memchr(*name, '"', nl) || memchr(*name, '\\', nl)) {
				snprintf(err, errlen, "%s: quotes or backslashes inside a quoted display name", what);
				return -1;
			}
		}
		if (!utf8_valid((const unsigned char *)*name, nl)) {
			snprintf(err, errlen, "%s: the display name is not UTF-8", what);
			return -1;
		}
		*namelen = nl;
	}
	if (!addr_spec_ok(a, n)) {
		snprintf(err, errlen, "%s: not an address of the form user@domain", what);
		return -1;
	}
	memcpy(addr, a, n);
	addr[n] = '\0';
	return 0;
}

/* ----------------------------------------------------------------- format */

static void add_base64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
			      i + 2 < n ? tab[v & 63] : '=' };
		buf_add(b, q, 4);
	}
}

/* RFC 2047 B-encoded words, folded so that no line passes 76 columns (col is
 * where the first word starts); words never split a UTF-8 character, as
 * RFC 2047 section 5 requires. */
static void add_encoded_words(struct buf *b, const char *s, size_t n, size_t col)
{
	const size_t overhead = sizeof "=?UTF-8?B?" - 1 + sizeof "?=" - 1;
	do {
		size_t room = col + overhead + 4 < 76 ? 76 - col - overhead : 4;
		size_t take = room / 4 * 3;
		if (take > n)
			take = n;
		while (take < n && take > 0 && ((unsigned char)s[take] & 0xc0) == 0x80)
			take--;
		buf_adds(b, "=?UTF-8?B?");
		add_base64(b, (const unsigned char *)s, take);
		buf_adds(b, "?=");
		s += take;
		n -= take;
		if (n > 0) {
			buf_adds(b, "\r\n ");
			col = 1;
		}
	} while (n > 0);
}

/* Plain ASCII that cannot be mistaken for an encoded word goes as it is. */
static int header_text_plain(const char *s, size_t n, size_t col)
{
	if (col + n > 78)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || (c == '=' && i + 1 < n && s[i + 1] == '?'))
			return 0;
	}
	return 1;
}

static void add_mailbox(struct buf *b, const char *header, const char *name, size_t namelen, const char *addr)
{
	buf_adds(b, header);
	if (namelen > 0) {
		int atoms = 1;
		for (size_t i = 0; i < namelen; i++)
			if (!is_atext((unsigned char)name[i]) && name[i] != ' ')
				atoms = 0;
		if (atoms && header_text_plain(name, namelen, strlen(header))) {
			buf_add(b, name, namelen);
		} else if (header_text_plain(name, namelen, strlen(header) + 2)) {
			/* parse_mailbox() refused '"' and '\\' inside quotes, but an
			 * unquoted name may hold them: quote them. */
			buf_adds(b, "\"");
			for (size_t i = 0; i < namelen; i++) {
				if (name[i] == '"' || name[i] == '\\')
					buf_adds(b, "\\");
				buf_add(b, name + i, 1);
			}
			buf_adds(b, "\"");
		} else {
			add_encoded_words(b, name, namelen, strlen(header));
		}
		buf_adds(b, " <");
		buf_adds(b, addr);
		buf_adds(b, ">\r\n");
	} else {
		buf_adds(b, addr);
		buf_adds(b, "\r\n");
	}
}

/* Quoted-printable (RFC 2045 6.7) with CRLF hard breaks for every LF, CRLF
 * or lone CR in the text.  A '.' or "From " at the start of a line is encoded
 * too, so that no dot-stuffing or mbox "From " quoting along the way can
 * change the text. */
static void add_quoted_printable(struct buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;
	while (*p) {
		if (*p == '\r' || *p == '\n') {
			p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
			buf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		int last = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
		int enc = *p == '=' || *p >= 0x7f || (*p < 0x20 && *p != '\t') || ((*p == ' ' || *p == '\t') && last);
		if (col + (enc ? 3 : 1) > 75) {
			buf_adds(b, "=\r\n");
			col = 0;
		}
		if (col == 0 && (*p == '.' || strncmp((const char *)p, "From ", 5) == 0))
			enc = 1;
		if (enc) {
			char e[3] = { '=', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 3);
			col += 3;
		} else {
			buf_add(b, (const char *)p, 1);
			col++;
		}
		p++;
	}
	if (col > 0 || b->len == 0 || b->p[b->len - 1] != '\n')
		buf_adds(b, "\r\n");
}

char *outbox_format(const char *from, const char *to, const char *subject, const char *text,
		    char *err, size_t errlen)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char from_addr[ADDR_MAX + 1], to_addr[ADDR_MAX + 1], rnd[33];
	const char *from_name, *to_name;
	size_t from_namelen, to_namelen;

	if (parse_mailbox(from, "from", from_addr, &from_name, &from_namelen, err, errlen) != 0 ||
	    parse_mailbox(to, "to", to_addr, &to_name, &to_namelen, err, errlen) != 0)
		return NULL;
	if (subject == NULL || has_control(subject)) {
		snprintf(err, errlen, "subject: control characters are not allowed");
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)subject, strlen(subject))) {
		snprintf(err, errlen, "subject: not UTF-8");
		return NULL;
	}
	if (text == NULL || !utf8_valid((const unsigned char *)text, strlen(text))) {
		snprintf(err, errlen, "text: not UTF-8");
		return NULL;
	}
	if (random_hex(rnd, 16) != 0) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return NULL;
	}

	long long now = realtime_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);

	struct buf b = { 0 };
	add_mailbox(&b, "From: ", from_name, from_namelen, from_addr);
	add_mailbox(&b, "To: ", to_name, to_namelen, to_addr);
	buf_adds(&b, "Subject: ");
	if (header_text_plain(subject, strlen(subject), strlen("Subject: ")))
		buf_adds(&b, subject);
	else
		add_encoded_words(&b, subject, strlen(subject), strlen("Subject: "));
	buf_adds(&b, "\r\n");
	/* Day and month names by hand: strftime's follow the locale. */
	buf_addf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	buf_addf(&b, "Message-ID: <%lld.%s@%s>\r\n", now, rnd, strchr(from_addr, '@') + 1);
	buf_adds(&b, "MIME-Version: 1.0\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Transfer-Encoding: quoted-printable\r\n"
		     "\r\n");
	add_quoted_printable(&b, text);
	if (b.oom) {
		free(b.p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return b.p;
}

/* ------------------------------------------------------------- transports */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Readers see a whole message or none: it is written under a hidden name,
 * synced, then renamed into place. */
static int send_dir(struct outbox *ob, const char *msg, char *err, size_t errlen)
{
	char hex[17], tmp[PATH_MAX], final[PATH_MAX];
	if (random_hex(hex, 8) != 0) {
		snprintf(err, errlen, "dir: getrandom: %s", strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", ob->dir, hex);
	snprintf(final, sizeof final, "%s/%lld-%s.eml", ob->dir, realtime_ms(), hex);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "dir: cannot create a file in %s: %s", ob->dir, strerror(errno));
		return -1;
	}
	/* The umask must not decide who can read the codes. */
	if (fchmod(fd, 0640) != 0 || write_all(fd, msg, strlen(msg)) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "dir: cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, final) != 0) {
		snprintf(err, errlen, "dir: cannot write %s: %s", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* Best effort: the message is already visible, and reporting a failure
	 * here would make the caller send a second code. */
	int dfd = open(ob->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t upload_read(char *dst, size_t size, size_t nitems, void *userdata)
{
	struct upload *u = userdata;
	size_t n = size * nitems < u->left ? size * nitems : u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static int send_smtp(struct outbox *ob, const char *to_addr, const char *msg, char *err, size_t errlen)
{
	char mail_from[ADDR_MAX + 3], rcpt[ADDR_MAX + 3], curl_err[CURL_ERROR_SIZE] = "";
	struct upload up = { msg, strlen(msg) };
	struct curl_slist *rcpts = NULL;
	CURL *c = curl_easy_init();

	snprintf(mail_from, sizeof mail_from, "<%s>", ob->from_addr);
	snprintf(rcpt, sizeof rcpt, "<%s>", to_addr);
	if (c == NULL || (rcpts = curl_slist_append(NULL, rcpt)) == NULL) {
		snprintf(err, errlen, "smtp: out of memory");
		curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, ob->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ob->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ob->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USE_SSL, ob->smtp_require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	if (ob->smtp_ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ob->smtp_ca_file);
	if (ob->smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, ob->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, ob->smtp_password ? ob->smtp_password : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.left);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);

	CURLcode rc = curl_easy_perform(c);
	long reply = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	if (rc == CURLE_OK)
		return 0;

	const char *what;
	switch (rc) {
	case CURLE_LOGIN_DENIED:
		what = "authentication failed";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		what = "timed out";
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		what = "cannot connect to the server";
		break;
	case CURLE_USE_SSL_FAILED:
		what = "the server does not offer STARTTLS, which SMTP_REQUIRE_TLS demands";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		what = "the server's TLS certificate is not trusted";
		break;
	default:
		what = "sending failed";
		break;
	}
	if (reply >= 400)
		snprintf(err, errlen, "smtp: %s (%s; last reply %ld)", what,
			 *curl_err ? curl_err : curl_easy_strerror(rc), reply);
	else
		snprintf(err, errlen, "smtp: %s (%s)", what, *curl_err ? curl_err : curl_easy_strerror(rc));
	/* libcurl does not put the password in its messages, but a server's
	 * reply text is not ours to trust: drop the details if it shows. */
	if (ob->smtp_password && strstr(err, ob->smtp_password))
		snprintf(err, errlen, "smtp: %s", what);
	return -1;
}

/* Keeps fd clear of 0..2 so that the child's dup2 onto them always happens
 * (and clears close-on-exec) even when this process has them closed. */
static int fd_above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

static void close_if_open(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One run of the command: our ends of its pipes, what is left to write to
 * it, and what it said. */
struct sendmail_child {
	pid_t pid;
	int to_child, from_child;     /* its stdin; its stdout and stderr; -1 once closed */
	const char *p;                /* the message still to be written */
	size_t left;
	char said[256];               /* the start of its output, for the error text */
	size_t said_len;
	int status, unread, timed_out;
};

/* Starts the command on the descriptors given for its stdin and for its
 * stdout and stderr, in its own process group, with default signal
 * dispositions, an empty signal mask (a responder blocks SIGTERM during a
 * request and ignores SIGPIPE) and no descriptor but 0..2.  posix_spawn()'s
 * answer: 0, or an errno. */
static int spawn_command(const struct outbox *ob, int stdin_fd, int output_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, output_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, output_fd, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&defaults);
	sigdelset(&defaults, SIGKILL);
	sigdelset(&defaults, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(pid, ob->argv[0], &fa, &attr, ob->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/* Makes the pipes and starts the command on them, keeping our ends (non-
 * blocking) in ch; the child's ends are closed here whatever happens, ours
 * are the caller's to close.  0, or -1 with err set. */
static int start_child(const struct outbox *ob, struct sendmail_child *ch, char *err, size_t errlen)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, rc = -1;
	if (pipe2(in, O_CLOEXEC) != 0 || (in[0] = fd_above_stdio(in[0])) < 0 ||
	    (in[1] = fd_above_stdio(in[1])) < 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    (out[0] = fd_above_stdio(out[0])) < 0 || (out[1] = fd_above_stdio(out[1])) < 0) {
		snprintf(err, errlen, "sendmail: pipe: %s", strerror(errno));
	} else {
		int spawn_rc = spawn_command(ob, in[0], out[1], &ch->pid);
		if (spawn_rc != 0) {
			ch->pid = -1;
			snprintf(err, errlen, "sendmail: cannot run %s: %s", ob->argv[0], strerror(spawn_rc));
		} else {
			rc = 0;
		}
	}
	close_if_open(&in[0]);
	close_if_open(&out[1]);
	ch->to_child = in[1];
	ch->from_child = out[0];
	if (rc == 0) {
		fcntl(ch->to_child, F_SETFL, O_NONBLOCK);
		fcntl(ch->from_child, F_SETFL, O_NONBLOCK);
	}
	return rc;
}

/* A child that exits before reading everything would raise SIGPIPE here;
 * it is kept blocked while the message is written, and swallowed after,
 * rather than relying on the caller to ignore it. */
struct sigpipe_hold {
	sigset_t set, old_mask;
	int was_pending;
};

static void sigpipe_block(struct sigpipe_hold *h)
{
	sigset_t pending;
	sigemptyset(&h->set);
	sigaddset(&h->set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &h->set, &h->old_mask);
	sigpending(&pending);
	h->was_pending = sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(struct sigpipe_hold *h)
{
	if (!h->was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&h->set, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, &h->old_mask, NULL);
}

/* Writes what the child's stdin takes now; closes it when all is written
 * or the child closed its end. */
static void write_some(struct sendmail_child *ch)
{
	ssize_t w = write(ch->to_child, ch->p, ch->left);
	if (w > 0) {
		ch->p += w;
		ch->left -= (size_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		ch->unread = 1; /* EPIPE: the child closed its stdin */
		close_if_open(&ch->to_child);
	}
	if (ch->left == 0)
		close_if_open(&ch->to_child);
}

/* Reads what the child printed, keeping the start of it. */
static void read_some(struct sendmail_child *ch)
{
	char chunk[512];
	ssize_t r = read(ch->from_child, chunk, sizeof chunk);
	if (r > 0) {
		size_t keep = sizeof ch->said - 1 - ch->said_len;
		if ((size_t)r < keep)
			keep = (size_t)r;
		memcpy(ch->said + ch->said_len, chunk, keep);
		ch->said_len += keep;
	} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
		close_if_open(&ch->from_child);
	}
}

/* Feeds the message to the child and reads its output until it exits; past
 * the deadline the whole process group is killed. */
static void feed_and_wait(struct sendmail_child *ch, long timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	int reaped = 0;
	if (ch->left == 0)
		close_if_open(&ch->to_child);
	while (!reaped) {
		long long wait = deadline - monotonic_ms();
		if (wait <= 0) {
			ch->timed_out = 1;
			break;
		}
		/* Poll in short ticks to notice the child's exit even when a
		 * grandchild keeps the output pipe open. */
		struct pollfd pfd[2] = { { ch->to_child, POLLOUT, 0 }, { ch->from_child, POLLIN, 0 } };
		poll(pfd, 2, wait < 10 ? (int)wait : 10);
		if (ch->to_child >= 0 && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			write_some(ch);
		if (ch->from_child >= 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
			read_some(ch);
		pid_t w = waitpid(ch->pid, &ch->status, WNOHANG);
		if (w == ch->pid || (w < 0 && errno != EINTR))
			reaped = 1; /* ECHILD: SIGCHLD ignored by someone; the status is lost */
	}
	if (ch->timed_out) {
		if (kill(-ch->pid, SIGKILL) != 0)
			kill(ch->pid, SIGKILL);
		while (waitpid(ch->pid, &ch->status, 0) < 0 && errno == EINTR)
			;
	}
}

/* Ends what the child said as one line of text: the last of it, which may
 * still be in the pipe, without trailing blanks, control characters made
 * spaces. */
static void finish_said(struct sendmail_child *ch)
{
	char *said = ch->said;
	size_t len = ch->said_len;
	if (ch->from_child >= 0 && len < sizeof ch->said - 1) {
		ssize_t r = read(ch->from_child, said + len, sizeof ch->said - 1 - len);
		if (r > 0)
			len += (size_t)r;
	}
	while (len > 0 && (said[len - 1] == '\n' || said[len - 1] == '\r' || said[len - 1] == ' '))
		len--;
	said[len] = '\0';
	for (char *s = said; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	ch->said_len = len;
}

/* How the run ended: 0, or -1 with err set. */
static int child_result(const struct sendmail_child *ch, long timeout_ms, char *err, size_t errlen)
{
	const char *sep = ch->said_len ? ": " : "";
	if (ch->timed_out)
		snprintf(err, errlen, "sendmail: timed out after %ld ms; killed", timeout_ms);
	else if (WIFSIGNALED(ch->status))
		snprintf(err, errlen, "sendmail: killed by signal %d%s%s", WTERMSIG(ch->status), sep, ch->said);
	else if (WIFEXITED(ch->status) && WEXITSTATUS(ch->status) != 0)
		snprintf(err, errlen, "sendmail: exit status %d%s%s", WEXITSTATUS(ch->status), sep, ch->said);
	else if (ch->unread || ch->left > 0)
		snprintf(err, errlen, "sendmail: the command exited before reading the whole message");
	else
		return 0;
	return -1;
}

/* Runs the command with the message on its stdin and its stdout and stderr
 * kept (the start of them) for the error text; past the deadline the whole
 * process group is killed. */
static int send_sendmail(struct outbox *ob, const char *to_addr, const char *msg, char *err, size_t errlen)
{
	/* Without -t the recipient goes on the command line; refuse what a
	 * sendmail could read as an option. */
	if (!ob->argv_has_t) {
		if (to_addr[0] == '-') {
			snprintf(err, errlen, "sendmail: an address starting with '-' cannot be passed as an argument");
			return -1;
		}
		ob->argv[ob->argc] = (char *)to_addr;
	}
	struct sendmail_child ch = { .pid = -1, .to_child = -1, .from_child = -1, .p = msg, .left = strlen(msg) };
	int rc = start_child(ob, &ch, err, errlen);
	ob->argv[ob->argc] = NULL;
	if (rc == 0) {
		struct sigpipe_hold hold;
		sigpipe_block(&hold);
		feed_and_wait(&ch, ob->timeout_ms);
		sigpipe_restore(&hold);
		finish_said(&ch);
		rc = child_result(&ch, ob->timeout_ms, err, errlen);
	}
	close_if_open(&ch.to_child);
	close_if_open(&ch.from_child);
	return rc;
}

/* ------------------------------------------------------------- interface */

/* Splits the command on spaces; no shell, so no quoting and no expansion. */
static int parse_command(struct outbox *ob, const char *command, char *err, size_t errlen)
{
	if (command == NULL || command[0] != '/') {
		snprintf(err, errlen, "SENDMAIL_COMMAND: expected an absolute path and arguments");
		return -1;
	}
	if ((ob->argv_text = strdup(command)) == NULL ||
	    (ob->argv = calloc(strlen(command) / 2 + 3, sizeof *ob->argv)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *save = NULL, *w = strtok_r(ob->argv_text, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (strcmp(w, "-t") == 0)
			ob->argv_has_t = 1;
		ob->argv[ob->argc++] = w;
	}
	/* A command that starts with '/' has a first word. */
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
	if (access(ob->argv[0], X_OK) != 0) {
		snprintf(err, errlen, "SENDMAIL_COMMAND: cannot run %s: %s", ob->argv[0], strerror(errno));
		return -1;
	}
	return 0;
}

static int check_smtp_url(const char *url, char *err, size_t errlen)
{
	const char *rest = url == NULL ? NULL
			 : strncmp(url, "smtp://", 7) == 0  ? url + 7
			 : strncmp(url, "smtps://", 8) == 0 ? url + 8 : NULL;
	if (rest == NULL || *rest == '\0' || *rest == '/') {
		snprintf(err, errlen, "SMTP_URL: expected smtp://host:port or smtps://host:port");
		return -1;
	}
	/* Credentials in the URL would end up wherever the URL is printed. */
	size_t authority = strcspn(rest, "/?#");
	if (memchr(rest, '@', authority) != NULL) {
		snprintf(err, errlen, "SMTP_URL: put credentials in SMTP_USER and SMTP_PASSWORD, not in the URL");
		return -1;
	}
	return 0;
}

struct outbox *outbox_open(const struct outbox_config *cfg, char *err, size_t errlen)
{
	struct outbox *ob = calloc(1, sizeof *ob);
	const char *name;
	size_t namelen;

	if (ob == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ob->transport = TRANSPORT__MAX;
	for (int t = 0; t < TRANSPORT__MAX; t++)
		if (cfg->transport && strcmp(cfg->transport, transport_names[t]) == 0)
			ob->transport = (enum transport)t;
	ob->timeout_ms = cfg->timeout_ms;
	ob->smtp_require_tls = cfg->smtp_require_tls;
	if (ob->transport == TRANSPORT__MAX) {
		snprintf(err, errlen, "MAIL_TRANSPORT: expected one of dir, smtp, sendmail");
		goto fail;
	}
	if (cfg->timeout_ms <= 0) {
		snprintf(err, errlen, "MAIL_TIMEOUT_MS: expected a positive number of milliseconds");
		goto fail;
	}
	if (parse_mailbox(cfg->from, "MAIL_FROM", ob->from_addr, &name, &namelen, err, errlen) != 0)
		goto fail;
	if ((ob->from = strdup(cfg->from)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	switch (ob->transport) {
	case TRANSPORT_DIR: {
		struct stat st;
		if (cfg->dir == NULL || *cfg->dir == '\0') {
			snprintf(err, errlen, "MAIL_DIR: required when MAIL_TRANSPORT=dir");
			goto fail;
		}
		/* One level is created, for a fresh checkout's var/mail; a
		 * missing parent is a configuration mistake worth reporting. */
		if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "MAIL_DIR: cannot create %s: %s", cfg->dir, strerror(errno));
			goto fail;
		}
		if (stat(cfg->dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(cfg->dir, W_OK | X_OK) != 0) {
			snprintf(err, errlen, "MAIL_DIR: %s is not a writable directory", cfg->dir);
			goto fail;
		}
		if ((ob->dir = strdup(cfg->dir)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		break;
	}
	case TRANSPORT_SMTP:
		if (check_smtp_url(cfg->smtp_url, err, errlen) != 0)
			goto fail;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "smtp: libcurl initialisation failed");
			goto fail;
		}
		ob->curl_initialised = 1;
		ob->smtp_url = strdup(cfg->smtp_url);
		ob->smtp_user = xstrdup_or_null(cfg->smtp_user);
		ob->smtp_password = xstrdup_or_null(cfg->smtp_password);
		ob->smtp_ca_file = xstrdup_or_null(cfg->smtp_ca_file);
		if (ob->smtp_url == NULL || (cfg->smtp_user && *cfg->smtp_user && ob->smtp_user == NULL) ||
		    (cfg->smtp_password && *cfg->smtp_password && ob->smtp_password == NULL) ||
		    (cfg->smtp_ca_file && *cfg->smtp_ca_file && ob->smtp_ca_file == NULL)) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		break;
	case TRANSPORT_SENDMAIL:
		if (parse_command(ob, cfg->sendmail_command, err, errlen) != 0)
			goto fail;
		break;
	case TRANSPORT__MAX:
		break;
	}
	return ob;
fail:
	outbox_close(ob);
	return NULL;
}

void outbox_close(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->smtp_password) {
		explicit_bzero(ob->smtp_password, strlen(ob->smtp_password));
		free(ob->smtp_password);
	}
	if (ob->curl_initialised)
		curl_global_cleanup();
	free(ob->from);
	free(ob->dir);
	free(ob->smtp_url);
	free(ob->smtp_user);
	free(ob->smtp_ca_file);
	free(ob->argv_text);
	free(ob->argv);
	free(ob);
}

int outbox_send(struct outbox *ob, const char *to, const char *subject, const char *text,
		char *err, size_t errlen)
{
	char to_addr[ADDR_MAX + 1];
	const char *name;
	size_t namelen;
	char *msg = outbox_format(ob->from, to, subject, text, err, errlen);
	if (msg == NULL || parse_mailbox(to, "to", to_addr, &name, &namelen, err, errlen) != 0) {
		free(msg);
		return -1;
	}
	int rc = -1;
	switch (ob->transport) {
	case TRANSPORT_DIR:
		rc = send_dir(ob, msg, err, errlen);
		break;
	case TRANSPORT_SMTP:
		rc = send_smtp(ob, to_addr, msg, err, errlen);
		break;
	case TRANSPORT_SENDMAIL:
		rc = send_sendmail(ob, to_addr, msg, err, errlen);
		break;
	case TRANSPORT__MAX:
		snprintf(err, errlen, "no transport");
		break;
	}
	free(msg);
	return rc;
}
