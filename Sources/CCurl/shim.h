#ifndef FAMILYCONNECT_CCURL_SHIM_H
#define FAMILYCONNECT_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift does not import.
   These typed wrappers are the only way Swift code reaches them. */

static inline CURLcode fc_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fc_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fc_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fc_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*fc_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode fc_curl_setopt_write_callback(CURL *handle, fc_curl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode fc_curl_setopt_header_callback(CURL *handle, fc_curl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

static inline CURLcode fc_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode fc_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode fc_curl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- Added for Sources/Feeds/Fetch (RemoteFetcher) ---- */

static inline CURLcode fc_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/* Bit-mask macros written with casts, which Swift does not import. */
static inline long fc_curlauth_basic(void) { return (long)CURLAUTH_BASIC; }
static inline long fc_curlauth_bearer(void) { return (long)CURLAUTH_BEARER; }
static inline long fc_curlssh_auth_publickey(void) { return (long)CURLSSH_AUTH_PUBLICKEY; }
static inline long fc_curlssh_auth_password(void) { return (long)CURLSSH_AUTH_PASSWORD; }
static inline int fc_curl_error_size(void) { return CURL_ERROR_SIZE; }
static inline unsigned int fc_curlh_header(void) { return (unsigned int)CURLH_HEADER; }
static inline unsigned int fc_curlu_non_support_scheme(void) { return (unsigned int)CURLU_NON_SUPPORT_SCHEME; }

/* ---- Added for uploads (export delivery) ---- */

static inline CURLcode fc_curl_setopt_read_callback(CURL *handle, fc_curl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

static inline CURLcode fc_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

#endif
