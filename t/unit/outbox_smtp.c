/* outbox_smtp.c - the smtp transport against t/stand-ins/smtp-server, driven by t/1600-outbox-smtp.t.
 *
 * The Perl test starts the servers (one with STARTTLS and AUTH, one without
 * STARTTLS, one that never answers), passes their ports and the test CA in
 * the environment, runs this, then checks what the servers received.  Run
 * alone it has nothing to talk to and skips. */
#include <stdlib.h>
#include <time.h>

#include "outbox.h"
#include "tap.h"

#define FROM "Aiget <no-reply@aiget.dev>"
#define TO "user@example.com"
#define SUBJECT "Votre code de connexion ✓"
#define TEXT "Votre code : 123456\n.\nÀ bientôt.\n"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one message; returns the result and how long it took in *took. */
static int send_one(const struct outbox_config *cfg, char *err, size_t errlen, long long *took)
{
	long long t0 = now_ms();
	struct outbox *ob = outbox_open(cfg, err, errlen);
	int rc = ob ? outbox_send(ob, TO, SUBJECT, TEXT, err, errlen) : -2;
	*took = now_ms() - t0;
	printf("# %s after %lld ms%s%s\n", rc == 0 ? "sent" : rc == -1 ? "refused" : "not opened", *took,
	       rc ? ": " : "", rc ? err : "");
	outbox_close(ob);
	return rc;
}

int main(void)
{
	const char *port = getenv("OUTBOX_SMTP_PORT"), *ca = getenv("OUTBOX_SMTP_CA_FILE"),
		   *user = getenv("OUTBOX_SMTP_USER"), *password = getenv("OUTBOX_SMTP_PASSWORD"),
		   *plain_port = getenv("OUTBOX_SMTP_PLAIN_PORT"), *mute_port = getenv("OUTBOX_SMTP_MUTE_PORT"),
		   *dead_port = getenv("OUTBOX_SMTP_DEAD_PORT");
	if (!port || !ca || !user || !password || !plain_port || !mute_port || !dead_port) {
		printf("1..0 # SKIP no stand-in SMTP server (run t/1600-outbox-smtp.t)\n");
		return 0;
	}
	char url[128], err[512];
	long long took;
	snprintf(url, sizeof url, "smtp://127.0.0.1:%s", port);
	struct outbox_config cfg = {
		.transport = "smtp", .smtp_url = url, .smtp_user = user, .smtp_password = password,
		.smtp_ca_file = ca, .from = FROM, .timeout_ms = 3000, .smtp_require_tls = 1,
	};

	ok(send_one(&cfg, err, sizeof err, &took) == 0, "STARTTLS, AUTH and the message accepted");

	const char *wrong = "Wr0ng-pa55word-xyzzy";
	cfg.smtp_password = wrong;
	ok(send_one(&cfg, err, sizeof err, &took) == -1, "a wrong password is refused");
	ok(strstr(err, "authentication") != NULL, "the error says authentication failed");
	ok(strstr(err, wrong) == NULL && strstr(err, password) == NULL, "without either password in it");
	cfg.smtp_password = password;

	cfg.smtp_ca_file = NULL;
	ok(send_one(&cfg, err, sizeof err, &took) == -1, "a certificate from an unknown CA is refused by default");
	ok(strstr(err, "certificate") != NULL, "the error says so");
	cfg.smtp_ca_file = ca;

	snprintf(url, sizeof url, "smtp://127.0.0.1:%s", plain_port);
	ok(send_one(&cfg, err, sizeof err, &took) == -1, "SMTP_REQUIRE_TLS: a server without STARTTLS is refused");
	ok(strstr(err, "STARTTLS") != NULL, "the error names STARTTLS");
	cfg.smtp_require_tls = 0;
	cfg.smtp_user = cfg.smtp_password = NULL;
	ok(send_one(&cfg, err, sizeof err, &took) == 0, "without SMTP_REQUIRE_TLS the message goes in the clear");
	cfg.smtp_require_tls = 1;
	cfg.smtp_user = user;
	cfg.smtp_password = password;

	snprintf(url, sizeof url, "smtp://127.0.0.1:%s", dead_port);
	ok(send_one(&cfg, err, sizeof err, &took) == -1 && took < 3000, "nothing listening: an error, at once");
	ok(strstr(err, "connect") != NULL, "the error says it could not connect");

	snprintf(url, sizeof url, "smtp://127.0.0.1:%s", mute_port);
	cfg.timeout_ms = 700;
	ok(send_one(&cfg, err, sizeof err, &took) == -1, "a server that never answers: an error");
	ok(took >= 650 && took < 700 + 500, "within the timeout (700 ms) and a small margin");
	ok(strstr(err, "timed out") != NULL, "the error says it timed out");
	return done_testing();
}
