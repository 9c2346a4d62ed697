//! What the linter tells the person writing the reply, in the reply's language: for each kind,
//! what is wrong and what to write instead. Never quotes the reply (it may hold personal data).

use super::Kind;
use crate::labels::Lang;

/// The message and the suggestion of a finding.
pub fn message(kind: Kind, lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Ro => ro(kind),
        Lang::Bg => bg(kind),
        Lang::Ru => ru(kind),
        Lang::En => en(kind),
    }
}

fn en(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Accusing => (
            "This blames the customer or argues that they broke a rule.",
            "Leave out whose fault it was; say what you will do to put it right.",
        ),
        Kind::Emotional => (
            "This shows the writer's own emotion (anger, exasperation, distress).",
            "Keep a calm, even tone; if the comment upset you, let a colleague answer or wait.",
        ),
        Kind::Insulting => (
            "This belittles or mocks the commenter.",
            "Remove the remark; answer the problem, not the person.",
        ),
        Kind::Dismissive => (
            "This suggests the customer or their problem does not matter.",
            "Acknowledge that this matters to them, without comparing them to other customers.",
        ),
        Kind::JokingAboutProblem => (
            "This jokes about a problem the customer takes seriously.",
            "Drop the joke and the laughing emoji; acknowledge the problem and fix it.",
        ),
        Kind::VagueDeflection => (
            "This sends the customer elsewhere without a concrete channel, action or time.",
            "Give one concrete way forward: where to write or call, what you will do, and by when.",
        ),
        Kind::MissingApology => (
            "A complaint gets no apology.",
            "Start with a short, sincere apology for what happened.",
        ),
        Kind::MissingNextStep => (
            "A complaint gets no concrete resolution or next step.",
            "Say what happens next: a refund, a replacement, a call, a private message — and when.",
        ),
        Kind::WrongLanguage => (
            "The reply is not in the language of the comment.",
            "Answer in the commenter's language.",
        ),
        Kind::PersonalData => (
            "The reply shows personal data (a phone number, e-mail, address or ID) in public.",
            "Remove it; refer to the customer's details only in a private message.",
        ),
        Kind::Shouting => (
            "Capitals and runs of exclamation marks read as shouting.",
            "Write in sentence case with at most one exclamation mark.",
        ),
    }
}

fn ro(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Accusing => (
            "Răspunsul dă vina pe client sau îi reproșează că a încălcat o regulă.",
            "Renunțați la a stabili vina; spuneți ce faceți ca să rezolvați.",
        ),
        Kind::Emotional => (
            "Răspunsul arată emoțiile celui care scrie (furie, exasperare, supărare).",
            "Păstrați un ton calm; dacă mesajul v-a supărat, lăsați un coleg să răspundă sau așteptați.",
        ),
        Kind::Insulting => (
            "Răspunsul ironizează sau jignește autorul comentariului.",
            "Scoateți remarca; răspundeți la problemă, nu persoanei.",
        ),
        Kind::Dismissive => (
            "Răspunsul sugerează că clientul sau problema lui nu contează.",
            "Recunoașteți că problema contează pentru client, fără comparații cu alți clienți.",
        ),
        Kind::JokingAboutProblem => (
            "Răspunsul face glume pe seama unei probleme serioase pentru client.",
            "Renunțați la glumă și la emoji; recunoașteți problema și rezolvați-o.",
        ),
        Kind::VagueDeflection => (
            "Răspunsul trimite clientul în altă parte fără un canal, o acțiune sau un termen concret.",
            "Dați o cale concretă: unde să scrie sau să sune, ce faceți și până când.",
        ),
        Kind::MissingApology => (
            "Reclamația nu primește nicio scuză.",
            "Începeți cu o scuză scurtă și sinceră pentru ce s-a întâmplat.",
        ),
        Kind::MissingNextStep => (
            "Reclamația nu primește o soluție sau un pas următor concret.",
            "Spuneți ce urmează: rambursare, înlocuire, un telefon, un mesaj privat — și când.",
        ),
        Kind::WrongLanguage => (
            "Răspunsul nu este în limba comentariului.",
            "Răspundeți în limba în care a scris clientul.",
        ),
        Kind::PersonalData => (
            "Răspunsul afișează public date personale (telefon, e-mail, adresă sau act de identitate).",
            "Ștergeți-le; discutați datele clientului doar în mesaj privat.",
        ),
        Kind::Shouting => (
            "Majusculele și șirurile de semne de exclamare se citesc ca țipat.",
            "Scrieți cu litere obișnuite și cel mult un semn de exclamare.",
        ),
    }
}

fn bg(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Accusing => (
            "Отговорът обвинява клиента или му доказва, че е нарушил правило.",
            "Не търсете вината; кажете какво ще направите, за да оправите нещата.",
        ),
        Kind::Emotional => (
            "Отговорът показва емоциите на пишещия (гняв, раздразнение, отчаяние).",
            "Пишете спокойно; ако коментарът ви е разстроил, оставете колега да отговори или изчакайте.",
        ),
        Kind::Insulting => (
            "Отговорът подиграва или обижда автора на коментара.",
            "Махнете забележката; отговорете на проблема, не на човека.",
        ),
        Kind::Dismissive => (
            "Отговорът внушава, че клиентът или проблемът му нямат значение.",
            "Признайте, че това е важно за клиента, без да го сравнявате с други клиенти.",
        ),
        Kind::JokingAboutProblem => (
            "Отговорът се шегува с проблем, който е сериозен за клиента.",
            "Махнете шегата и емоджито; признайте проблема и го решете.",
        ),
        Kind::VagueDeflection => (
            "Отговорът препраща клиента другаде без конкретен канал, действие или срок.",
            "Дайте конкретен път: къде да пише или да се обади, какво ще направите и до кога.",
        ),
        Kind::MissingApology => (
            "Оплакването не получава извинение.",
            "Започнете с кратко, искрено извинение за случилото се.",
        ),
        Kind::MissingNextStep => (
            "Оплакването не получава конкретно решение или следваща стъпка.",
            "Кажете какво следва: възстановяване на сумата, замяна, обаждане, лично съобщение — и кога.",
        ),
        Kind::WrongLanguage => (
            "Отговорът не е на езика на коментара.",
            "Отговорете на езика, на който е писал клиентът.",
        ),
        Kind::PersonalData => (
            "Отговорът показва публично лични данни (телефон, имейл, адрес или ЕГН/документ).",
            "Махнете ги; обсъждайте данните на клиента само в лично съобщение.",
        ),
        Kind::Shouting => (
            "Главните букви и поредиците от удивителни звучат като крясък.",
            "Пишете с обикновени букви и най-много една удивителна.",
        ),
    }
}

fn ru(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Accusing => (
            "Ответ обвиняет клиента или доказывает, что он нарушил правила.",
            "Не ищите виноватого; скажите, что вы сделаете, чтобы всё исправить.",
        ),
        Kind::Emotional => (
            "Ответ показывает эмоции автора (злость, раздражение, отчаяние).",
            "Пишите спокойно; если комментарий задел, пусть ответит коллега, или подождите.",
        ),
        Kind::Insulting => (
            "Ответ высмеивает или оскорбляет автора комментария.",
            "Уберите это замечание; отвечайте на проблему, а не человеку.",
        ),
        Kind::Dismissive => (
            "Ответ даёт понять, что клиент или его проблема не важны.",
            "Признайте, что это важно для клиента, не сравнивая его с другими клиентами.",
        ),
        Kind::JokingAboutProblem => (
            "Ответ шутит над проблемой, серьёзной для клиента.",
            "Уберите шутку и смайлик; признайте проблему и решите её.",
        ),
        Kind::VagueDeflection => (
            "Ответ отправляет клиента куда-то ещё без конкретного канала, действия или срока.",
            "Дайте конкретный путь: куда написать или позвонить, что вы сделаете и к какому сроку.",
        ),
        Kind::MissingApology => (
            "На жалобу нет извинения.",
            "Начните с короткого искреннего извинения за случившееся.",
        ),
        Kind::MissingNextStep => (
            "На жалобу нет конкретного решения или следующего шага.",
            "Скажите, что будет дальше: возврат, замена, звонок, личные сообщения — и когда.",
        ),
        Kind::WrongLanguage => (
            "Ответ не на языке комментария.",
            "Отвечайте на том языке, на котором написал клиент.",
        ),
        Kind::PersonalData => (
            "Ответ публично показывает личные данные (телефон, e-mail, адрес или документ).",
            "Уберите их; данные клиента обсуждайте только в личных сообщениях.",
        ),
        Kind::Shouting => (
            "Заглавные буквы и ряды восклицательных знаков читаются как крик.",
            "Пишите обычными буквами и не больше одного восклицательного знака.",
        ),
    }
}
