/* outbox.c - unit tests of shared/outbox.c: the message format, the dir and sendmail transports.
 *
 * The SMTP transport needs a server and is tested by t/1600-outbox-smtp.t
 * through t/unit/outbox_smtp.c.  The sendmail stand-ins are shell scripts
 * written into a scratch directory: anything that reads a message on stdin
 * is a sendmail as far as the outbox is concerned. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "tap.h"

#define FROM "Aiget <no-reply@aiget.dev>"

static char scratch[64];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *slurp(const char *path)
{
	static char text[1 << 20];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static const char *write_script(const char *name, const char *body)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", scratch, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		abort();
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

/* The unfolded value of a header, in a static buffer, or NULL. */
static const char *header(const char *msg, const char *name)
{
	static char value[4096];
	size_t n = strlen(name), o = 0;
	const char *end = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
		if (strncmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		while (*p == ' ')
			p++;
		while (p < end) {
			if (p[0] == '\r' && p[1] == '\n') {
				if (p[2] != ' ' && p[2] != '\t')
					break;
				p += 2;
				continue;
			}
			if (o + 1 < sizeof value)
				value[o++] = *p;
			p++;
		}
		value[o] = '\0';
		return value;
	}
	return NULL;
}

static int b64(int c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;
	return p ? (int)(p - tab) : -1;
}

/* Decodes a header value made only of =?UTF-8?B?...?= words (the folding
 * whitespace between them is not part of the text, RFC 2047 section 6.2). */
static const char *decode_words(const char *v)
{
	static char out[4096];
	size_t o = 0;
	while (*v) {
		if (*v == ' ') {
			v++;
			continue;
		}
		if (strncmp(v, "=?UTF-8?B?", 10) != 0)
			return "(not an encoded word)";
		v += 10;
		unsigned acc = 0;
		int bits = 0;
		for (; *v && *v != '?'; v++) {
			if (*v == '=')
				continue;
			acc = acc << 6 | (unsigned)b64(*v);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (char)(acc >> bits & 0xff);
			}
		}
		if (strncmp(v, "?=", 2) != 0)
			return "(unterminated encoded word)";
		v += 2;
	}
	out[o] = '\0';
	return out;
}

/* Quoted-printable decoding of the body; hard line breaks stay CRLF. */
static const char *decode_qp(const char *body)
{
	static char out[1 << 16];
	size_t o = 0;
	for (const char *p = body; *p;) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 3;
		} else if (p[0] == '=') {
			unsigned v;
			if (sscanf(p + 1, "%2X", &v) != 1)
				return "(bad escape)";
			out[o++] = (char)v;
			p += 3;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

static const char *body_of(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n");
	return p ? p + 4 : "";
}

static int lines_ok(const char *msg, size_t max)
{
	size_t col = 0;
	for (const char *p = msg; *p; p++) {
		if (*p == '\r' && p[1] == '\n') {
			col = 0;
			p++;
		} else if (*p == '\r' || *p == '\n' || ++col > max) {
			return 0;
		}
	}
	return 1;
}

static const char *qp_of(const char *text)
{
	static char copy[1 << 16];
	char err[256];
	char *msg = outbox_format(FROM, "user@example.com", "s", text, err, sizeof err);
	snprintf(copy, sizeof copy, "%s", msg ? body_of(msg) : "(refused)");
	free(msg);
	return copy;
}

static void test_format(void)
{
	char err[256];
	char *m = outbox_format(FROM, "user@example.com", "Your code", "Your code is 123456.\n", err, sizeof err);
	ok(m != NULL, "a plain message is built");
	if (m == NULL)
		m = strdup("");
	is_str(header(m, "From"), FROM, "From keeps the display name");
	is_str(header(m, "To"), "user@example.com", "To");
	is_str(header(m, "Subject"), "Your code", "an ASCII subject goes as it is");
	const char *date = header(m, "Date");
	ok(date && strlen(date) == 31 && strcmp(date + 25, " +0000") == 0 && date[3] == ',',
	   "Date is RFC 5322 shaped, in UTC");
	char mid[256];
	snprintf(mid, sizeof mid, "%s", header(m, "Message-ID") ? header(m, "Message-ID") : "");
	ok(mid[0] == '<' && strstr(mid, "@aiget.dev>") != NULL, "Message-ID in the sender's domain");
	is_str(header(m, "MIME-Version"), "1.0", "MIME-Version");
	is_str(header(m, "Content-Type"), "text/plain; charset=utf-8", "Content-Type");
	is_str(header(m, "Content-Transfer-Encoding"), "quoted-printable", "Content-Transfer-Encoding");
	is_str(body_of(m), "Your code is 123456.\r\n", "the body, with a CRLF line end");
	ok(lines_ok(m, 78), "CRLF everywhere and no line over 78 characters");
	char *m2 = outbox_format(FROM, "user@example.com", "Your code", "x", err, sizeof err);
	ok(m2 && strcmp(header(m2, "Message-ID"), mid) != 0, "Message-IDs differ");
	free(m2);
	free(m);

	m = outbox_format("\"Aiget, Inc.\" <a@b.example>", "Bob Smith <bob@example.com>", "s", "t", err, sizeof err);
	is_str(m ? header(m, "From") : NULL, "\"Aiget, Inc.\" <a@b.example>", "a quoted display name stays quoted");
	is_str(m ? header(m, "To") : NULL, "Bob Smith <bob@example.com>", "a name-addr recipient");
	free(m);
	m = outbox_format("Zoë <a@b.example>", "a.b+tag@sub.ex-ample.com", "s", "t", err, sizeof err);
	ok(m && strstr(header(m, "From"), "=?UTF-8?B?") == header(m, "From"), "a non-ASCII display name is encoded");
	free(m);
	m = outbox_format(FROM, "user@localhost", "s", "t", err, sizeof err);
	ok(m != NULL, "a single-label domain is accepted");
	free(m);
}

static void test_refused(void)
{
	static const struct { const char *to, *subject, *why; } cases[] = {
		{ "user@example.com\r\nBcc: victim@example.org", "s", "CRLF in the recipient" },
		{ "user@example.com\nBcc: victim@example.org", "s", "LF in the recipient" },
		{ "user@example.com", "Code\r\nBcc: victim@example.org", "CRLF in the subject" },
		{ "user@example.com", "Code\nBcc: victim@example.org", "LF in the subject" },
		{ "user@example.com", "Code\rX", "CR in the subject" },
		{ "user@example.com", "Code\tX", "a tab in the subject" },
		{ "user@example.com", "Code\x1b[31m", "ESC in the subject" },
		{ "user@example.com", "\xff\xfe", "a subject that is not UTF-8" },
		{ "user@example.com", "\xed\xa0\x80", "an encoded surrogate in the subject" },
		{ "nobody", "s", "no @" },
		{ "a@", "s", "no domain" },
		{ "@example.com", "s", "no local part" },
		{ "a..b@example.com", "s", "two dots in the local part" },
		{ ".a@example.com", "s", "a leading dot" },
		{ "a@example..com", "s", "an empty label" },
		{ "a@-example.com", "s", "a label starting with '-'" },
		{ "a@example.com.", "s", "a trailing dot" },
		{ "a b@example.com", "s", "a space" },
		{ "\"a b\"@example.com", "s", "a quoted local part" },
		{ "zoë@example.com", "s", "a non-ASCII address" },
		{ "a@b@example.com", "s", "two @" },
		{ "Bob <bob@example.com", "s", "an unclosed angle bracket" },
		{ "Bob <bob@example.com> x", "s", "text after the angle brackets" },
		{ "<a@example.com>, <b@example.com>", "s", "two recipients" },
		{ "", "s", "an empty recipient" },
	};
	char err[256], name[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		char *m = outbox_format(FROM, cases[i].to, cases[i].subject, "t", err, sizeof err);
		snprintf(name, sizeof name, "refused: %s", cases[i].why);
		ok(m == NULL && err[0] != '\0', name);
		free(m);
	}
	char *m = outbox_format("Aiget <a@b.example>\r\nBcc: x@y.example", "user@example.com", "s", "t", err, sizeof err);
	ok(m == NULL, "refused: CRLF in the sender");
	free(m);
	m = outbox_format(FROM, "user@example.com", "s", "caf\xe9", err, sizeof err);
	ok(m == NULL && strstr(err, "UTF-8"), "refused: a Latin-1 body");
	free(m);
	m = outbox_format(FROM, "user@example.com\r\nBcc: x@y.example", "s", "t", err, sizeof err);
	ok(m == NULL && strstr(err, "control") != NULL, "the error says why");
	free(m);
}

static void test_subject(void)
{
	char err[256];
	const char *subject = "Votre code de connexion : 123456 ✓";
	char *m = outbox_format(FROM, "user@example.com", subject, "t", err, sizeof err);
	const char *v = m ? header(m, "Subject") : "";
	ok(strncmp(v, "=?UTF-8?B?", 10) == 0, "a non-ASCII subject is an encoded word");
	is_str(decode_words(v), subject, "which decodes to the subject");
	ok(m && lines_ok(m, 76), "within 76 columns");
	free(m);

	char longer[1024] = "";
	for (int i = 0; i < 60; i++)
		strcat(longer, "é€😀");
	m = outbox_format(FROM, "user@example.com", longer, "t", err, sizeof err);
	ok(m && strstr(m, "?=\r\n =?UTF-8?B?") != NULL, "a long subject is folded into several words");
	is_str(m ? decode_words(header(m, "Subject")) : NULL, longer, "no character split between words");
	ok(m && lines_ok(m, 76), "each line within 76 columns");
	free(m);

	m = outbox_format(FROM, "user@example.com", "Looks like =?UTF-8?B?eA==?= a word", "t", err, sizeof err);
	is_str(m ? decode_words(header(m, "Subject")) : NULL, "Looks like =?UTF-8?B?eA==?= a word",
	       "ASCII that would read as an encoded word is encoded");
	free(m);
	m = outbox_format(FROM, "user@example.com", "", "t", err, sizeof err);
	is_str(m ? header(m, "Subject") : NULL, "", "an empty subject");
	free(m);
}

static void test_body(void)
{
	is_str(qp_of("café = 1\n"), "caf=C3=A9 =3D 1\r\n", "non-ASCII and '=' are escaped");
	is_str(qp_of("end \nend\t\n"), "end=20\r\nend=09\r\n", "whitespace before a line end is escaped");
	is_str(qp_of(".\n.x\nFrom me\nfrom me\n"), "=2E\r\n=2Ex\r\n=46rom me\r\nfrom me\r\n",
	       "a leading dot and \"From \" are escaped");
	is_str(qp_of("a\r\nb\rc\nd"), "a\r\nb\r\nc\r\nd\r\n", "CRLF, CR and LF all become CRLF; a last line ends too");
	is_str(qp_of("bell\a"), "bell=07\r\n", "control characters are escaped");
	is_str(qp_of(""), "", "an empty body");

	char text[8192] = "";
	for (int i = 0; i < 40; i++)
		strcat(text, "Ünïcödé text = with spaces, and a long line that goes on ");
	strcat(text, "\n\nsecond paragraph.\n");
	const char *qp = qp_of(text);
	ok(lines_ok(qp, 76), "soft breaks keep every line within 76 columns");
	ok(strstr(qp, "=\r\n") != NULL, "there are soft breaks");
	char want[8192];
	size_t o = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			want[o++] = '\r';
		want[o++] = *p;
	}
	want[o] = '\0';
	is_str(decode_qp(qp), want, "decoding gives the text back");
}

/* ------------------------------------------------------------------ dir */

static int count_entries(const char *dir, char *last, size_t lastlen)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		snprintf(last, lastlen, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

static int eml_name_ok(const char *name)
{
	size_t digits = strspn(name, "0123456789");
	const char *p = name + digits;
	return digits >= 13 && *p == '-' && strspn(p + 1, "0123456789abcdef") == 16 && strcmp(p + 17, ".eml") == 0;
}

static void test_dir(void)
{
	char dir[128], err[256], name[256], path[512];
	snprintf(dir, sizeof dir, "%s/mail", scratch);
	struct outbox_config cfg = { .transport = "dir", .dir = dir, .from = FROM, .timeout_ms = 1000 };
	mode_t old_umask = umask(077);
	struct outbox *ob = outbox_open(&cfg, err, sizeof err);
	ok(ob != NULL, "dir: opens, creating the directory");
	if (ob == NULL) {
		printf("# %s\n", err);
		umask(old_umask);
		return;
	}
	ok(outbox_send(ob, "user@example.com", "Your code", "Code: 123456\n", err, sizeof err) == 0, "dir: sent");
	umask(old_umask);
	is_int(count_entries(dir, name, sizeof name), 1, "dir: exactly one file, no temporary left");
	ok(eml_name_ok(name), "dir: named <unix-ms>-<hex>.eml");
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat st;
	is_int(stat(path, &st) == 0 ? (long long)(st.st_mode & 0777) : -1, 0640, "dir: mode 0640 whatever the umask");
	const char *m = slurp(path);
	ok(m && header(m, "To") && strcmp(header(m, "To"), "user@example.com") == 0, "dir: To");
	ok(m && header(m, "Subject") && strcmp(header(m, "Subject"), "Your code") == 0, "dir: Subject");
	ok(m && strcmp(body_of(m), "Code: 123456\r\n") == 0, "dir: body");

	ok(outbox_send(ob, "user@example.com\r\nBcc: x@example.org", "s", "t", err, sizeof err) != 0,
	   "dir: an injection is refused");
	is_int(count_entries(dir, name, sizeof name), 1, "dir: and writes nothing");
	ok(outbox_send(ob, "other@example.com", "s", "t", err, sizeof err) == 0, "dir: a second message");
	is_int(count_entries(dir, name, sizeof name), 2, "dir: gets a file of its own");
	outbox_close(ob);

	snprintf(path, sizeof path, "%s/no/such/dir", scratch);
	cfg.dir = path;
	ob = outbox_open(&cfg, err, sizeof err);
	ok(ob == NULL && strncmp(err, "MAIL_DIR:", 9) == 0, "dir: a missing parent directory is reported");
	outbox_close(ob);

	cfg.transport = "pigeon";
	ob = outbox_open(&cfg, err, sizeof err);
	ok(ob == NULL && strncmp(err, "MAIL_TRANSPORT:", 15) == 0, "an unknown transport is refused");
	cfg.transport = "dir";
	cfg.dir = dir;
	cfg.from = "no-reply@aiget.dev\r\nBcc: x@example.org";
	ob = outbox_open(&cfg, err, sizeof err);
	ok(ob == NULL && strncmp(err, "MAIL_FROM:", 10) == 0, "a bad sender is refused at open");
	cfg.from = FROM;
	cfg.transport = "smtp";
	cfg.smtp_url = "smtp://user:secret@mail.example.com:587";
	ob = outbox_open(&cfg, err, sizeof err);
	ok(ob == NULL && strstr(err, "SMTP_URL") && !strstr(err, "secret"), "smtp: credentials in the URL are refused, unechoed");
	cfg.smtp_url = "http://mail.example.com";
	ob = outbox_open(&cfg, err, sizeof err);
	ok(ob == NULL && strstr(err, "SMTP_URL"), "smtp: a non-SMTP URL is refused");
}

/* ------------------------------------------------------------- sendmail */

static int no_children(void)
{
	int status;
	return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

static struct outbox *open_sendmail(const char *command, long timeout_ms)
{
	char err[256];
	struct outbox_config cfg = { .transport = "sendmail", .sendmail_command = command, .from = FROM,
				     .timeout_ms = timeout_ms };
	struct outbox *ob = outbox_open(&cfg, err, sizeof err);
	if (ob == NULL)
		printf("# outbox_open: %s\n", err);
	return ob;
}

static void test_sendmail(void)
{
	char err[256], body[512], command[512], path[256];

	/* A descriptor this process leaves open without close-on-exec must
	 * not reach the command. */
	int leak = open("/dev/null", O_RDONLY);
	snprintf(body, sizeof body,
		 "printf '%%s\\n' \"$@\" > %s/args\n"
		 "[ -e /proc/$$/fd/%d ] && echo leaked > %s/leak\n"
		 "cat > %s/out.eml\n",
		 scratch, leak, scratch, scratch);
	snprintf(command, sizeof command, "%s -t -i", write_script("good.sh", body));
	struct outbox *ob = open_sendmail(command, 2000);
	ok(ob != NULL, "sendmail: opens");
	if (ob) {
		ok(outbox_send(ob, "user@example.com", "Your code", "Code: 123456\n", err, sizeof err) == 0,
		   "sendmail: sent");
		snprintf(path, sizeof path, "%s/out.eml", scratch);
		const char *m = slurp(path);
		ok(m && header(m, "To") && strcmp(header(m, "To"), "user@example.com") == 0 &&
		   strcmp(body_of(m), "Code: 123456\r\n") == 0, "sendmail: the message arrived on stdin");
		snprintf(path, sizeof path, "%s/args", scratch);
		is_str(slurp(path), "-t\n-i\n", "sendmail: split on spaces; with -t, no recipient argument");
		snprintf(path, sizeof path, "%s/leak", scratch);
		ok(access(path, F_OK) != 0, "sendmail: no other descriptor reaches the command");
		ok(no_children(), "sendmail: the child is reaped");
		outbox_close(ob);
	}
	close(leak);

	snprintf(command, sizeof command, "%s/good.sh  -i", scratch);
	ob = open_sendmail(command, 2000);
	if (ob) {
		ok(outbox_send(ob, "user@example.com", "s", "t", err, sizeof err) == 0, "sendmail without -t: sent");
		snprintf(path, sizeof path, "%s/args", scratch);
		is_str(slurp(path), "-i\nuser@example.com\n", "sendmail without -t: the recipient is the last argument");
		ok(outbox_send(ob, "-oQ/tmp@example.com", "s", "t", err, sizeof err) != 0,
		   "sendmail without -t: a recipient that reads as an option is refused");
		outbox_close(ob);
	}

	ob = open_sendmail(write_script("fail.sh", "cat >/dev/null\necho '550 5.1.1 no such user' >&2\nexit 67\n"), 2000);
	if (ob) {
		ok(outbox_send(ob, "user@example.com", "s", "t", err, sizeof err) != 0, "sendmail: a non-zero exit is an error");
		ok(strstr(err, "exit status 67") && strstr(err, "no such user"), "sendmail: with the status and what it said");
		printf("# %s\n", err);
		outbox_close(ob);
	}

	snprintf(body, sizeof body, "sleep 10 & echo $! > %s/sleep.pid\nwait\n", scratch);
	ob = open_sendmail(write_script("slow.sh", body), 300);
	if (ob) {
		long long t0 = now_ms();
		int rc = outbox_send(ob, "user@example.com", "s", "t", err, sizeof err);
		long long took = now_ms() - t0;
		ok(rc != 0 && strstr(err, "timed out"), "sendmail: a stuck command times out");
		ok(took >= 250 && took < 1000, "sendmail: within the timeout (300 ms)");
		printf("# took %lld ms: %s\n", took, err);
		ok(no_children(), "sendmail: no zombie left");
		snprintf(path, sizeof path, "%s/sleep.pid", scratch);
		const char *pid = slurp(path);
		char stat_path[64], state = 'X';
		snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", pid ? atoi(pid) : 0);
		usleep(100 * 1000);
		const char *st = slurp(stat_path);
		if (st && strrchr(st, ')'))
			state = strrchr(st, ')')[2];
		ok(pid && (st == NULL || state == 'Z'), "sendmail: its grandchild was killed with it");
		outbox_close(ob);
	}

	/* A command that exits without reading: writing to it raises SIGPIPE,
	 * which must not kill this process (its disposition here is the default). */
	ob = open_sendmail(write_script("deaf.sh", "exit 0\n"), 2000);
	if (ob) {
		size_t n = 300 * 1000;
		char *big = malloc(n + 1);
		memset(big, 'a', n);
		for (size_t i = 70; i < n; i += 71)
			big[i] = '\n';
		big[n] = '\0';
		ok(outbox_send(ob, "user@example.com", "s", big, err, sizeof err) != 0 && strstr(err, "before reading"),
		   "sendmail: a command that does not read the message is an error, not a SIGPIPE");
		free(big);
		ok(no_children(), "sendmail: reaped");
		outbox_close(ob);
	}

	struct outbox_config cfg = { .transport = "sendmail", .sendmail_command = "sendmail -t", .from = FROM,
				     .timeout_ms = 1000 };
	ok(outbox_open(&cfg, err, sizeof err) == NULL && strncmp(err, "SENDMAIL_COMMAND:", 17) == 0,
	   "sendmail: a relative command is refused");
	snprintf(command, sizeof command, "%s/missing -t", scratch);
	cfg.sendmail_command = command;
	ok(outbox_open(&cfg, err, sizeof err) == NULL && strncmp(err, "SENDMAIL_COMMAND:", 17) == 0,
	   "sendmail: a missing command is refused at open");
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		for (struct dirent *e; (e = readdir(d)) != NULL;) {
			char sub[512];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			remove_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof scratch, "%s/aiget-outbox.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		printf("1..0 # SKIP cannot make a scratch directory\n");
		return 0;
	}
	test_format();
	test_refused();
	test_subject();
	test_body();
	test_dir();
	test_sendmail();
	remove_tree(scratch);
	return done_testing();
}
