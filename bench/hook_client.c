/*
 * bench_hook_client: the baseline of bench/run-hooks. A plain libcurl loop that POSTs the same
 * alert-sized JSON body N times to URL on one reused handle (so one kept-alive connection),
 * with the headers incidentd sends, one request after the other: what one hook thread could do
 * at best with no outbox, no store and no fsync.
 *
 *   bench_hook_client --url URL --requests N
 *
 * Prints one JSON line: {"requests", "ok", "seconds", "per_s"}. Exit status 0 when every
 * request got a 2xx, 1 otherwise, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench/common.h"

#define PROG "bench_hook_client"
#define USAGE "usage: " PROG " --url URL --requests N\n"

/* A breach body as incidentd publishes it, so the requests have the daemon's size. */
static const char s_body[] =
    "{\"seq\":12345,\"breach\":\"BRE000000012345\",\"incident\":\"INC000000012345\","
    "\"provider\":\"bench-p0-1234567890\",\"category\":3,\"sla\":\"provider_notification\","
    "\"due\":\"2021-01-12T02:00:00.000Z\",\"late_by_ms\":157680000000,"
    "\"detected\":\"on_arrival\",\"detected_at\":\"2026-01-12T00:00:00.000Z\","
    "\"stopped_at\":null}";

static size_t s_discard(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* The headers incidentd's url hooks send (without a signature). */
static struct curl_slist *s_headers(void)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = h ? curl_slist_append(h, "X-Incidentd-Delivery: 12345") : NULL;
    h = h ? curl_slist_append(h, "X-Incidentd-Topic: breach.provider_notification") : NULL;
    h = h ? curl_slist_append(h, "Expect:") : NULL;
    return h;
}

/* POSTs the body n times; returns how many got a 2xx. */
static uint64_t s_post_all(CURL *curl, uint64_t n)
{
    uint64_t ok = 0;
    for (uint64_t i = 0; i < n; i++) {
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
            status >= 200 && status <= 299)
            ok++;
    }
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "url", required_argument, NULL, 'u' },
        { "requests", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *url = NULL;
    uint64_t n = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'n':
            if (bench_parse_u64(optarg, 1, UINT64_MAX / 2, &n) != 0)
                n = 0;
            break;
        case 'h': printf(USAGE); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (!url || n == 0 || optind != argc) {
        fputs(USAGE, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = s_headers();
    if (!curl || !headers) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, s_body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof s_body - 1));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_discard);
    uint64_t t0 = bench_mono_ns();
    uint64_t ok = s_post_all(curl, n);
    double seconds = (double)(bench_mono_ns() - t0) / 1e9;
    printf("{\"requests\":%llu,\"ok\":%llu,\"seconds\":%.3f,\"per_s\":%.0f}\n",
           (unsigned long long)n, (unsigned long long)ok, seconds,
           seconds > 0 ? (double)n / seconds : 0);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return ok == n ? 0 : 1;
}
