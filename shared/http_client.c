/* http_client.c - libcurl easy calls with limits, and form encoding. */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "body.h"

struct sink {
	char *data;
	size_t len;
	int overflow;
};

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t add = size * n;
	if (s->len + add > HTTP_CLIENT_MAX_BODY) {
		s->overflow = 1;
		return 0; /* aborts the transfer */
	}
	char *grown = realloc(s->data, s->len + add + 1);
	if (grown == NULL)
		return 0;
	s->data = grown;
	memcpy(s->data + s->len, ptr, add);
	s->len += add;
	s->data[s->len] = '\0';
	return add;
}

int http_client_url_allowed(const char *url)
{
	if (strncmp(url, "https://", 8) == 0)
		return 1;
	static const char *const loopback[] = { "http://127.0.0.1:", "http://127.0.0.1/", "http://[::1]:",
						"http://[::1]/", "http://localhost:", "http://localhost/" };
	for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
		if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
			return 1;
	return 0;
}

static int perform(const char *url, const char *form, long timeout_ms, struct json_object **out, int only_2xx,
		   char *err, size_t errlen)
{
	*out = NULL;
	if (!http_client_url_allowed(url)) {
		snprintf(err, errlen, "refusing a non-https URL");
		return -1;
	}
	CURL *c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "curl init failed");
		return -1;
	}
	struct sink s = { NULL, 0, 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "aiget-auth");
	struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (form)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", s.overflow ? "answer too large" : curl_easy_strerror(rc));
		free(s.data);
		return -1;
	}
	if (!only_2xx || (status >= 200 && status < 300)) {
		char why[128];
		*out = s.data ? body_json_parse(s.data, s.len, why, sizeof why) : NULL;
		if (*out == NULL)
			snprintf(err, errlen, "answer is not JSON (HTTP %ld)", status);
	}
	free(s.data);
	return (int)status;
}

int http_client_get_json(const char *url, long timeout_ms, struct json_object **out, char *err, size_t errlen)
{
	return perform(url, NULL, timeout_ms, out, 1, err, errlen);
}

int http_client_post_form(const char *url, const char *form, long timeout_ms, struct json_object **out,
			  char *err, size_t errlen)
{
	return perform(url, form, timeout_ms, out, 0, err, errlen);
}

int http_client_form_add(char **buf, const char *name, const char *value)
{
	char *n = curl_easy_escape(NULL, name, 0), *v = curl_easy_escape(NULL, value, 0);
	size_t old = *buf ? strlen(*buf) : 0;
	char *grown = n && v ? realloc(*buf, old + strlen(n) + strlen(v) + 3) : NULL;
	if (grown)
		sprintf(grown + old, "%s%s=%s", old ? "&" : "", n, v);
	curl_free(n);
	curl_free(v);
	if (grown == NULL)
		return -1;
	*buf = grown;
	return 0;
}
