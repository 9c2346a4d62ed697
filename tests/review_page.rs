//! The moderators' page in a real browser: headless Chromium driven over WebDriver
//! (chromedriver) against a real `tact serve` with a SQLite store and an API key. A wrong key is
//! refused; the seeded decisions show in the queue's order; one is accepted with a click and
//! one overridden with the keyboard, the store records both and they leave the queue; the reply
//! being edited is checked against the guidelines as it is typed; a comment tried on the page is
//! decided and not recorded; the controls have labels and enough contrast.
//!
//! Needs `chromedriver` and `chromium` (Debian: `apt-get install chromium chromium-driver`;
//! `TACT_CHROMEDRIVER` / `TACT_CHROMIUM` name other paths). Without them the test says SKIPPED
//! on stderr, and fails when `TACT_REQUIRE_BROWSER=1` (as `.ci/run` sets). With
//! `TACT_SCREENSHOT=FILE` it saves a screenshot of the queue there.

mod common;

use common::browser::Browser;
use common::served;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "review-page-key";

async fn body(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

/// Evaluates `script` (a function body that returns a value) until `done` holds for its value.
async fn until(client: &Client, script: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{script} stayed {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the login form is on screen.
async fn login_shown(client: &Client) {
    until(
        client,
        "return !document.getElementById('login').hidden",
        |v| v == true,
    )
    .await;
}

/// The API key the tab keeps (`null` when none).
async fn stored_key(client: &Client) -> Value {
    client
        .execute("return sessionStorage.getItem('tact-api-key')", vec![])
        .await
        .unwrap()
}

const QUEUE_IDS: &str =
    "return Array.from(document.querySelectorAll('#queue li')).map(li => li.dataset.decision)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_work_the_queue_in_a_browser() {
    let Some(chromium) = Browser::find() else {
        assert!(
            std::env::var("TACT_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "TACT_REQUIRE_BROWSER=1 but chromedriver or chromium is missing"
        );
        use std::io::Write;
        writeln!(
            std::io::stderr(),
            "SKIPPED the browser test: no chromedriver or chromium on PATH"
        )
        .unwrap();
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("t.db").display());
    let server = served::start(&["--store", &store, "--store-text", "--api-key", KEY]).await;
    let http = reqwest::Client::new();
    let api = |path: &str| http.get(server.url(path)).bearer_auth(KEY).send();
    let seeded = json!({"comments": [
        {"id": "c-1", "author_id": "u-1", "text": "My order 5531 never arrived, third time I write!"},
        {"id": "c-2", "author_id": "u-2", "text": "Do you deliver to Cluj on Sundays?"},
        {"id": "c-3", "author_id": "u-3", "text": "Thank you, super fast delivery!"},
        {"id": "c-4", "text": "Buy cheap followers now at spam.example, 1000 for 1$"},
        {"id": "c-6", "author_id": "u-6", "text": "Comanda 5531 nu a ajuns nici azi, e a treia oară când vă scriu!"},
        {"id": "c-7", "author_id": "u-7", "text": "Имате ли този модел в размер 42 в магазина в Пловдив?"},
        {"id": "c-8", "author_id": "u-8", "text": "Спасибо, курьер приехал вовремя, всё отлично!"},
        {"id": "c-5", "author_id": "u-1", "text": "Still nothing. Typical, you are hopeless.",
         "thread": [{"text": "My order 5531 never arrived", "from_brand": false},
                    {"text": "We are sorry, a courier brings it tomorrow.", "from_brand": true}]}
    ]});
    let decided = http
        .post(server.url("/v1/decide"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(seeded.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200);
    let queue: Value = body(api("/v1/queue").await.unwrap()).await;
    let expected: Vec<String> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["decision_id"].as_str().unwrap().to_string())
        .collect();
    assert!(expected.len() >= 3, "{queue}");

    let (_driver, client) = chromium.open().await;
    client.goto(&server.url("/ui")).await.unwrap();

    // A wrong key is refused; the right one opens the queue.
    let key = client
        .wait()
        .for_element(Locator::Id("api-key"))
        .await
        .unwrap();
    login_shown(&client).await;
    key.send_keys("not-the-key").await.unwrap();
    key.send_keys(&Key::Enter.to_string()).await.unwrap();
    until(
        &client,
        "return document.getElementById('login-error').textContent",
        |v| v == "That key was refused.",
    )
    .await;
    assert_eq!(
        stored_key(&client).await,
        Value::Null,
        "a refused key is not kept"
    );
    key.send_keys(KEY).await.unwrap();
    key.send_keys(&Key::Enter.to_string()).await.unwrap();
    let shown = until(&client, QUEUE_IDS, |v| {
        v.as_array().is_some_and(|a| a.len() == expected.len())
    })
    .await;
    assert_eq!(shown, json!(expected), "the page shows the queue's order");
    let url = client.current_url().await.unwrap();
    assert!(!url.as_str().contains(KEY), "the key never goes into a URL");
    let first_text = queue["items"][0]["text"].as_str().unwrap();
    until(
        &client,
        "return document.getElementById('d-text').textContent",
        |v| v == first_text,
    )
    .await;
    check_accessibility(&client).await;
    if let Some(path) = std::env::var_os("TACT_SCREENSHOT") {
        std::fs::write(path, client.screenshot().await.unwrap()).unwrap();
    }

    reply_is_checked_as_typed(&client, &queue["items"][0]).await;

    // Accept the first with a click.
    client
        .find(Locator::Id("accept"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accepted = expected[0].clone();
    until(&client, QUEUE_IDS, |v| {
        v.as_array().is_some_and(|a| a.len() == expected.len() - 1)
    })
    .await;

    // Override the next but one with the keyboard: j moves down, o opens the override list,
    // typing picks `wait`, Enter records it.
    let overridden = expected[2].clone();
    let focused = client.active_element().await.unwrap();
    focused.send_keys("j").await.unwrap();
    until(
        &client,
        "return document.querySelector('#queue li[aria-selected=true]').dataset.decision",
        |v| v == overridden.as_str(),
    )
    .await;
    client
        .active_element()
        .await
        .unwrap()
        .send_keys("o")
        .await
        .unwrap();
    let list = client.active_element().await.unwrap();
    assert_eq!(list.attr("id").await.unwrap().as_deref(), Some("o-action"));
    list.send_keys("wait").await.unwrap();
    list.send_keys(&Key::Enter.to_string()).await.unwrap();
    let left = until(&client, QUEUE_IDS, |v| {
        v.as_array().is_some_and(|a| a.len() == expected.len() - 2)
    })
    .await;
    assert!(!left.as_array().unwrap().contains(&json!(accepted)));
    assert!(!left.as_array().unwrap().contains(&json!(overridden)));

    // The store has both verdicts, and the queue no longer has them.
    let audit = |id: String| {
        let request = api(&format!("/v1/decisions/{id}"));
        async move { body(request.await.unwrap()).await }
    };
    let a = audit(accepted.clone()).await;
    assert_eq!(a["feedback"][0]["verdict"], "accepted", "{a}");
    let o = audit(overridden.clone()).await;
    assert_eq!(o["feedback"][0]["verdict"], "overridden", "{o}");
    assert_eq!(o["feedback"][0]["action"], "wait", "{o}");
    let queue: Value = body(api("/v1/queue").await.unwrap()).await;
    let ids: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["decision_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&accepted.as_str()) && !ids.contains(&overridden.as_str()));

    // A comment tried on the page is decided and not recorded.
    let before: Value = body(api("/v1/figures").await.unwrap()).await;
    let text = client.find(Locator::Id("t-text")).await.unwrap();
    text.send_keys("Where is my refund? I returned the shoes two weeks ago.")
        .await
        .unwrap();
    client
        .find(Locator::Css("#try-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let result = until(
        &client,
        "return document.getElementById('t-result').textContent",
        |v| v.as_str().is_some_and(|t| t.contains("guideline:")),
    )
    .await;
    assert!(result.as_str().unwrap().contains("intent "), "{result}");
    let after: Value = body(api("/v1/figures").await.unwrap()).await;
    assert_eq!(before["decided"], after["decided"]);

    // Signing out forgets the key.
    client
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    login_shown(&client).await;
    assert_eq!(
        stored_key(&client).await,
        Value::Null,
        "signing out forgets the key"
    );
    client.close().await.unwrap();
}

const FINDINGS: &str =
    "return Array.from(document.querySelectorAll('#d-findings li')).map(li => li.dataset.kind)";

/// The reply under the selected item is checked as the moderator types it: a blaming, shouted
/// draft shows both findings with the blaming words quoted; a calm reply with an apology and a
/// concrete next step shows none. The suggested reply is put back for the verdict that follows.
async fn reply_is_checked_as_typed(client: &Client, item: &Value) {
    let (bad, blame, good) = match item["decision"]["lang"].as_str().unwrap() {
        "ro" => (
            "Trebuia să verificați coletul în fața curierului. NU RETURNĂM BANII!!!",
            "Trebuia să verificați coletul în fața curierului.",
            "Ne pare rău pentru întârziere. Scrieți-ne numărul comenzii în mesaj privat și vă trimitem coletul mâine prin curier.",
        ),
        "bg" => (
            "Трябваше да проверите пратката пред куриера. НЕ ВРЪЩАМЕ ПАРИ!!!",
            "Трябваше да проверите пратката пред куриера.",
            "Съжаляваме за забавянето. Изпратете ни номера на поръчката в лично съобщение и утре куриер ще ви я донесе.",
        ),
        "ru" => (
            "Вы должны были проверить посылку при курьере. МЫ НЕ ВОЗВРАЩАЕМ ДЕНЬГИ!!!",
            "Вы должны были проверить посылку при курьере.",
            "Приносим извинения за задержку. Напишите нам номер заказа в личные сообщения, и завтра курьер привезёт посылку.",
        ),
        _ => (
            "You should have checked the parcel in front of the courier. WE DO NOT REFUND!!!",
            "You should have checked the parcel in front of the courier.",
            "We are sorry about the delay. Send us the order number in a private message and a courier brings the parcel tomorrow.",
        ),
    };
    let suggested = client
        .execute("return document.getElementById('d-reply').value", vec![])
        .await
        .unwrap();
    let reply = client.find(Locator::Id("d-reply")).await.unwrap();
    reply.clear().await.unwrap();
    reply.send_keys(bad).await.unwrap();
    until(client, FINDINGS, |v| {
        v.as_array()
            .is_some_and(|a| a.contains(&json!("accusing")) && a.contains(&json!("shouting")))
    })
    .await;
    let quoted = client
        .execute(
            "return document.querySelector('#d-findings li[data-kind=accusing] q').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(quoted, blame, "the finding quotes the words it is about");
    reply.clear().await.unwrap();
    reply.send_keys(good).await.unwrap();
    let verdict = until(
        client,
        "return document.getElementById('d-lint').textContent",
        |v| {
            v.as_str()
                .is_some_and(|t| t.starts_with("Reply check: nothing found"))
        },
    )
    .await;
    assert_eq!(
        until(client, FINDINGS, |_| true).await,
        json!([]),
        "{verdict}"
    );
    reply.clear().await.unwrap();
    reply.send_keys(suggested.as_str().unwrap()).await.unwrap();
}

/// Every form control has a label, every button a name, nothing is taken out of the tab
/// order, and text meets WCAG AA contrast (4.5:1) on its own background.
async fn check_accessibility(client: &Client) {
    let report = client
        .execute(
            r#"
            const problems = [];
            for (const c of document.querySelectorAll('input, select, textarea')) {
              if (!c.labels || c.labels.length === 0) problems.push('no label: #' + c.id);
            }
            for (const b of document.querySelectorAll('button')) {
              if (!b.textContent.trim()) problems.push('unnamed button: #' + b.id);
            }
            for (const e of document.querySelectorAll('[tabindex]')) {
              if (e.tabIndex < 0) problems.push('out of the tab order: #' + e.id);
            }
            const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
            const lum = (c) => {
              const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
              return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const background = (e) => {
              for (; e; e = e.parentElement) {
                const c = getComputedStyle(e).backgroundColor;
                const parts = c.match(/[\d.]+/g);
                if (parts && (parts.length < 4 || Number(parts[3]) > 0)) return rgb(c);
              }
              return [255, 255, 255];
            };
            let checked = 0;
            for (const e of document.querySelectorAll('button, label, dd, dt, td, th, li, p, blockquote, h1, h2, .due, .pill, kbd')) {
              if (!e.offsetParent || !e.textContent.trim()) continue;
              const fg = lum(rgb(getComputedStyle(e).color)), bg = lum(background(e));
              const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
              checked++;
              if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ': ' + e.tagName + '.' + e.className + ' ' + e.textContent.trim().slice(0, 20));
            }
            return {problems, checked};
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert!(report["checked"].as_u64().unwrap() > 20, "{report}");
    assert_eq!(report["problems"], json!([]), "{report}");
}
