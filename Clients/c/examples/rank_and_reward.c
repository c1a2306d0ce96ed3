/* Example: ask the server which article to show, then report whether the user clicked.
 *
 *   cc rank_and_reward.c $(pkg-config --cflags --libs personalizer-client) -o rank_and_reward
 *   ./rank_and_reward ./data/personalizer.sock
 */
#include <stdio.h>
#include <string.h>

#include <personalizer_client.h>

int main(int argc, char **argv) {
    const char *socket_path = argc > 1 ? argv[1] : "./data/personalizer.sock";

    pz_client *client;
    pz_error err;
    pz_options options = {.loop = "default", .timeout_ms = 5000};
    if (pz_connect(socket_path, &options, &client, &err) != PZ_OK) {
        fprintf(stderr, "connect: %s\n", err.message);
        return 1;
    }

    /* Context: who is asking. Actions: what we could show, each with its own features. */
    const pz_feature user[] = {PZ_TEXT("segment", "sports"), PZ_NUMBER("age", 31.0)};
    const pz_namespace context[] = {{"user", user, 2}};
    const pz_feature football[] = {PZ_TEXT("topic", "football"), PZ_NUMBER("length", 420.0)};
    const pz_feature cooking[] = {PZ_TEXT("topic", "cooking")};
    const pz_namespace football_ns[] = {{"item", football, 2}};
    const pz_namespace cooking_ns[] = {{"item", cooking, 1}};
    const pz_action actions[] = {{"article-1", football_ns, 1}, {"article-2", cooking_ns, 1}};
    pz_rank_request request = {
        .context = context, .context_count = 1, .actions = actions, .action_count = 2,
    };

    int status = 0;
    pz_rank_result *result;
    if (pz_rank(client, &request, &result, &err) != PZ_OK) {
        fprintf(stderr, "rank: %s (%s)\n", err.message, pz_code_name(err.code));
        pz_close(client);
        return 1;
    }
    printf("event %s: show %s (model version %llu)\n", result->event_id, result->reward_action_id,
           (unsigned long long)result->model_version);
    for (size_t i = 0; i < result->ranking_count; i++)
        printf("  %-10s p=%.3f\n", result->ranking[i].id, result->ranking[i].probability);

    /* Later: the user clicked (reward 1) if we showed the football article. */
    double reward = strcmp(result->reward_action_id, "article-1") == 0 ? 1.0 : 0.0;
    if (pz_reward(client, result->event_id, reward, &err) != PZ_OK) {
        fprintf(stderr, "reward: %s (%s)\n", err.message, pz_code_name(err.code));
        status = 1;
    } else {
        printf("rewarded %s with %.1f\n", result->event_id, reward);
    }

    pz_server_status st;
    if (pz_status(client, &st, &err) == PZ_OK)
        printf("server: %llu rank calls, %llu rewards, %llu events learned\n",
               (unsigned long long)st.rank_calls, (unsigned long long)st.reward_calls,
               (unsigned long long)st.learned_events);

    pz_rank_result_free(result);
    pz_close(client);
    return status;
}
