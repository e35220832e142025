# Writes movielens-fixture.csv, a small MovieLens-style rating log for the
# schema movielens.ini: one row per rating, joined with the movie's title
# (quoted when it holds a comma or a quote, RFC 4180) and its genres
# (Action|Comedy), and the user's gender and age group. Users like two
# genres each and rate movies of those genres higher, so a model has
# something to learn. Deterministic (its own LCG): awk -f make_movielens_fixture.awk > movielens-fixture.csv
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
function pick(n) { return int(rnd() * n) }
BEGIN {
    seed = 20261201
    ng = split("Action Adventure Animation Children Comedy Crime Documentary Drama Fantasy Horror Romance Thriller", G, " ")
    nw = split("Heat Casino Sabrina Nixon Balto Clueless Jumanji Sudden Death Money Train Assassins Othello Dracula Powder Copycat", W, " ")
    n_movies = 120; n_users = 150
    for (m = 1; m <= n_movies; m++) {
        k = 1 + pick(3); g = ""; delete used
        for (j = 0; j < k; j++) { x = 1 + pick(ng); if (x in used) continue; used[x] = 1; g = g (g == "" ? "" : "|") G[x]; mg[m, x] = 1 }
        genres[m] = g
        t = W[1 + pick(nw)] " " W[1 + pick(nw)]
        r = pick(6)
        if (r == 0) t = t ", The"
        if (r == 1) t = "The \"\"" t "\"\""
        title[m] = "\"" t " (" (1980 + pick(20)) ")\""
        if (r > 1 && pick(2)) title[m] = t " (" (1980 + pick(20)) ")"
        id[m] = 1000 + 7 * m
    }
    print "user_id,movie_id,rating,timestamp,title,genres,gender,age"
    ts = 978300000
    for (u = 1; u <= n_users; u++) {
        a = 1 + pick(ng); b = 1 + pick(ng)
        gender = pick(2) ? "F" : "M"; age = 18 + 7 * pick(6)
        n = 12 + pick(20)
        for (i = 0; i < n; i++) {
            m = 1 + pick(n_movies)
            like = ((m, a) in mg) + ((m, b) in mg)
            rating = 2 + like + (rnd() < 0.5) - (rnd() < 0.25)
            if (rating < 1) rating = 1; if (rating > 5) rating = 5
            ts += 1 + pick(5000)
            print (100 + u) "," id[m] "," rating "," ts "," title[m] "," genres[m] "," gender "," age
        }
    }
}
