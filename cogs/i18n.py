"""Every string a member reads, in English and Japanese, and the language rule.

The language is the guild's configured one, else (for replies to a post) the
post's own language, else the member's Discord locale. Slash command names and
descriptions are localised through :class:`SenpaiTranslator`.
"""

from __future__ import annotations

import discord
from discord import app_commands

from knowledge.cleaning import detect_language

LANGUAGES = ("en", "ja")

MESSAGES: dict[str, dict[str, str]] = {
    "suggest.title": {
        "en": "Someone already faced this",
        "ja": "同じ問題を解決した先輩がいます",
    },
    "suggest.footer": {
        "en": "Did one of these solve it? Tell us with the buttons. Only you can mark it solved.",
        "ja": "解決したらボタンで教えてください（解決済みにできるのは質問者のみ）。",
    },
    "suggest.solved_by": {"en": "solved by {name}", "ja": "解決: {name}"},
    "suggest.hits": {
        "en": "{count} members solved this way",
        "ja": "{count}人がこの方法で解決",
    },
    "suggest.hit_one": {
        "en": "1 member solved this way",
        "ja": "1人がこの方法で解決",
    },
    "suggest.open": {"en": "Open thread", "ja": "スレッドを開く"},
    "strength.strong": {"en": "very close match", "ja": "とても近い"},
    "strength.good": {"en": "close match", "ja": "近い"},
    "strength.weak": {"en": "possibly related", "ja": "関連がありそう"},
    "button.solved": {"en": "#{n} solved it", "ja": "#{n}で解決"},
    "button.irrelevant": {"en": "#{n} not relevant", "ja": "#{n}は関係なし"},
    "button.dismiss": {"en": "Dismiss", "ja": "閉じる"},
    "button.yes_this": {"en": "Yes, this reply solved it", "ja": "はい、この返信で解決"},
    "button.not_yet": {"en": "Not yet", "ja": "まだです"},
    "button.confirm": {"en": "Remove", "ja": "削除する"},
    "button.cancel": {"en": "Cancel", "ja": "キャンセル"},
    "button.forget_me": {"en": "Delete my data", "ja": "データを削除する"},
    "search.none": {
        "en": "No solved thread is close enough to that. Try other words, or ask in a forum.",
        "ja": "近い解決済みスレッドは見つかりませんでした。言葉を変えるか、フォーラムで質問してください。",
    },
    "feedback.solved": {
        "en": "Marked solved by an earlier thread: {title}. Thanks for closing the loop!",
        "ja": "過去のスレッド「{title}」で解決済みにしました。ありがとうございます！",
    },
    "feedback.solved_public": {
        "en": "✅ Solved by an earlier thread: [{title}]({url})",
        "ja": "✅ 過去のスレッドで解決: [{title}]({url})",
    },
    "feedback.irrelevant": {
        "en": "Thanks, noted: it will help Senpai suggest better.",
        "ja": "ありがとうございます。今後の提案の改善に使います。",
    },
    "feedback.gone": {
        "en": "That thread is no longer in the knowledge base.",
        "ja": "そのスレッドはナレッジベースから削除されています。",
    },
    "refuse.asker_only": {
        "en": "Only the person who asked can mark this post solved.",
        "ja": "解決済みにできるのは質問者のみです。",
    },
    "refuse.dismiss": {
        "en": "Only the person who asked or a moderator can dismiss this.",
        "ja": "閉じられるのは質問者かモデレーターのみです。",
    },
    "refuse.solve": {
        "en": "Only the person who asked, a helper or a moderator can mark a solution.",
        "ja": "解決策を選べるのは質問者、ヘルパー、モデレーターのみです。",
    },
    "refuse.admin": {
        "en": "This needs the Manage Server permission.",
        "ja": "この操作には「サーバー管理」権限が必要です。",
    },
    "refuse.not_yours": {
        "en": "Only the member who ran this command can use these buttons.",
        "ja": "このボタンはコマンドを実行した本人しか使えません。",
    },
    "refuse.not_post": {
        "en": "Use this inside a forum post.",
        "ja": "フォーラムの投稿の中で使ってください。",
    },
    "refuse.not_watched": {
        "en": "Senpai does not watch this forum. An admin can add it with /senpai-admin setup.",
        "ja": "このフォーラムは対象外です。管理者が /senpai-admin setup で追加できます。",
    },
    "solve.bad_link": {
        "en": "That is not a link to a message in this post.",
        "ja": "この投稿内のメッセージへのリンクではありません。",
    },
    "solve.no_answer": {
        "en": "There is no reply to mark yet. Reply first, or pick a message with "
        "\u201cMark as solution\u201d.",
        "ja": "まだ解決策にできる返信がありません。",
    },
    "solve.done": {
        "en": "Saved: the answer by {name} is now in the knowledge base.",
        "ja": "保存しました：{name}さんの回答をナレッジベースに追加しました。",
    },
    "solve.public": {
        "en": "✅ Solved — answer by {name}. Thank you for helping!",
        "ja": "✅ 解決しました — 回答: {name}さん。ありがとうございます！",
    },
    "capture.no_question": {
        "en": "The post's opening message is gone, so there is no question to save.",
        "ja": "投稿の最初のメッセージが削除されているため保存できません。",
    },
    "capture.no_answer": {
        "en": "Choose the reply that solved it.",
        "ja": "解決した返信を選んでください。",
    },
    "capture.is_question": {
        "en": "That is the question itself; choose the reply that solved it.",
        "ja": "それは質問そのものです。解決した返信を選んでください。",
    },
    "capture.bot_answer": {
        "en": "A bot's message cannot be the solution.",
        "ja": "ボットのメッセージは解決策にできません。",
    },
    "capture.empty_answer": {
        "en": "That message has no text to save.",
        "ja": "そのメッセージには保存できるテキストがありません。",
    },
    "capture.not_in_post": {
        "en": "That message is not in this post.",
        "ja": "そのメッセージはこの投稿のものではありません。",
    },
    "capture.opted_out": {
        "en": "Not saved: a member of this post asked Senpai not to keep their messages.",
        "ja": "保存しませんでした：この投稿の参加者が、メッセージを保存しない設定にしています。",
    },
    "capture.opted_out_self": {
        "en": "Not saved: you asked Senpai not to keep your messages (/senpai privacy).",
        "ja": "保存しませんでした：あなたはメッセージを保存しない設定にしています（/senpai プライバシー）。",
    },
    "capture.conflict": {
        "en": "Not saved: this post is already stored for another server.",
        "ja": "保存しませんでした：この投稿は別のサーバーのものとして保存されています。",
    },
    "capture.scope": {
        "en": "Not saved: this post was saved from a private forum, and saving it again would "
        "show it to more people. Use /unsolved first to save it anew.",
        "ja": "保存しませんでした：この投稿は非公開フォーラムから保存されたもので、保存し直すと"
        "より多くの人に見えるようになります。先に /未解決 を使ってから保存し直してください。",
    },
    "skipped.opted_out": {"en": "a member opted out", "ja": "保存しない設定のメンバー"},
    "skipped.conflict": {"en": "stored for another server", "ja": "別のサーバーで保存済み"},
    "skipped.scope": {"en": "saved from a private forum", "ja": "非公開フォーラムから保存済み"},
    "skipped.other": {"en": "no usable question or answer", "ja": "使える質問か回答がない"},
    "unsolve.done": {
        "en": "This post is no longer marked solved and left the knowledge base.",
        "ja": "解決済みを取り消し、ナレッジベースから削除しました。",
    },
    "unsolve.none": {
        "en": "This post was not in the knowledge base.",
        "ja": "この投稿はナレッジベースにありません。",
    },
    "nudge.ask": {
        "en": "{asker}, did this reply solve your question? One tap saves it for the next "
        "person who hits the same problem.",
        "ja": "{asker}さん、この返信で解決しましたか？ワンタップで保存すると、"
        "同じ問題に出会った次の人の助けになります。",
    },
    "nudge.ask.anonymous": {
        "en": "Did this reply solve your question? One tap saves it for the next person who "
        "hits the same problem.",
        "ja": "この返信で解決しましたか？ワンタップで保存すると、同じ問題に出会った次の人の助けになります。",
    },
    "nudge.tag.anonymous": {
        "en": "This post was tagged solved. Which reply solved it?",
        "ja": "この投稿が解決済みになりました。どの返信で解決しましたか？",
    },
    "nudge.tag": {
        "en": "This post was tagged solved. {asker}, which reply solved it?",
        "ja": "この投稿が解決済みになりました。{asker}さん、どの返信で解決しましたか？",
    },
    "nudge.later": {
        "en": "No problem. You can mark a solution any time with /solved.",
        "ja": "了解です。/solved でいつでも解決策を選べます。",
    },
    "setup.saved": {"en": "Settings saved.", "ja": "設定を保存しました。"},
    "setup.current": {
        "en": "**Senpai settings**\nWatched forums: {forums}\nHelper roles: {roles}\n"
        "Solved tag: {tag}\nConfidence threshold: {threshold}\nLanguage: {language}\n"
        "Nudge after: {nudge}\nArchive when solved: {archive}",
        "ja": "**Senpai の設定**\n対象フォーラム: {forums}\nヘルパーロール: {roles}\n"
        "解決済みタグ: {tag}\n信頼度のしきい値: {threshold}\n言語: {language}\n"
        "リマインドまで: {nudge}\n解決時にアーカイブ: {archive}",
    },
    "setup.all_forums": {"en": "all forums", "ja": "すべてのフォーラム"},
    "setup.none": {"en": "none", "ja": "なし"},
    "setup.default": {"en": "default ({value})", "ja": "既定値（{value}）"},
    "setup.auto": {"en": "auto", "ja": "自動"},
    "setup.off": {"en": "off", "ja": "オフ"},
    "setup.hours": {"en": "{hours} h", "ja": "{hours}時間"},
    "setup.yes": {"en": "yes", "ja": "はい"},
    "setup.no": {"en": "no", "ja": "いいえ"},
    "setup.bad_threshold": {
        "en": "The threshold must be between 0.1 and 0.95.",
        "ja": "しきい値は 0.1 から 0.95 の間で指定してください。",
    },
    "setup.not_forum": {
        "en": "{channel} is not a forum channel.",
        "ja": "{channel} はフォーラムチャンネルではありません。",
    },
    "rebuild.progress": {
        "en": "Rebuilding the index… `{bar}` {done}/{total}{eta}",
        "ja": "インデックスを再構築中… `{bar}` {done}/{total}{eta}",
    },
    "rebuild.eta": {"en": " · about {seconds}s left", "ja": " · 残り約{seconds}秒"},
    "rebuild.done": {
        "en": "Index rebuilt: {entries} entries in {seconds:.1f}s.",
        "ja": "再構築が完了しました：{entries}件、{seconds:.1f}秒。",
    },
    "rebuild.busy": {
        "en": "A rebuild is already running.",
        "ja": "すでに再構築を実行中です。",
    },
    "backfill.progress": {
        "en": "Reading past posts… {seen} read, {captured} solved threads captured",
        "ja": "過去の投稿を読み込み中… {seen}件読み込み、{captured}件の解決済みスレッドを追加",
    },
    "backfill.done": {
        "en": "Backfill finished: {seen} posts read, {captured} solved threads captured.",
        "ja": "取り込み完了：{seen}件の投稿を読み込み、{captured}件の解決済みスレッドを追加しました。",
    },
    "backfill.skipped": {
        "en": "Not saved: {reasons}.",
        "ja": "保存しなかった投稿：{reasons}。",
    },
    "backfill.reason": {"en": "{count} ({reason})", "ja": "{count}件（{reason}）"},
    "stats.title": {"en": "Senpai in this server", "ja": "このサーバーの Senpai"},
    "stats.kb": {
        "en": "{entries} solved threads · {answerers} members credited · "
        "{hits} later questions solved by a suggestion",
        "ja": "解決済みスレッド {entries}件 · 回答者 {answerers}人 · 提案で解決した質問 {hits}件",
    },
    "stats.period": {
        "en": "Last 30 days: {questions} questions · {answered} answered · solved rate {rate}"
        " · median first reply {reply} · median time to solve {solve}",
        "ja": "過去30日：質問 {questions}件 · 回答あり {answered}件 · 解決率 {rate}"
        " · 初回返信の中央値 {reply} · 解決までの中央値 {solve}",
    },
    "stats.calibration": {
        "en": "Confidence threshold {threshold:.2f}: {source}",
        "ja": "信頼度のしきい値 {threshold:.2f}：{source}",
    },
    "stats.calibration.learned": {
        "en": "learned from {verdicts} members' verdicts on first suggestions "
        "({precision} right; the model's own is {base:.2f})",
        "ja": "最初の提案へのメンバーの評価 {verdicts}件から調整（正解率 {precision}、"
        "モデルの既定値は {base:.2f}）",
    },
    "stats.calibration.pending": {
        "en": "the model's own; it adapts to this server after {needed} verdicts ({verdicts} so far)",
        "ja": "モデルの既定値です。評価が {needed}件集まるとこのサーバーに合わせて調整されます（現在 {verdicts}件）",
    },
    "stats.calibration.setting": {
        "en": "set by an admin (/senpai-admin setup)",
        "ja": "管理者が設定（/senpai-admin setup）",
    },
    "stats.leaders": {"en": "Top helpers", "ja": "よく助けてくれた人"},
    "stats.recurring": {"en": "Problems that keep coming back", "ja": "繰り返し起きている問題"},
    "stats.none": {"en": "—", "ja": "—"},
    "stats.minutes": {"en": "{value:.0f} min", "ja": "{value:.0f}分"},
    "stats.hours": {"en": "{value:.1f} h", "ja": "{value:.1f}時間"},
    "forget.confirm": {
        "en": "Remove everything {user} asked and answered from the knowledge base? "
        "This cannot be undone.",
        "ja": "{user} さんが質問・回答した内容をナレッジベースからすべて削除しますか？元に戻せません。",
    },
    "forget.done": {
        "en": "Removed {entries} solved threads and {feedback} feedback records.",
        "ja": "解決済みスレッド {entries}件とフィードバック {feedback}件を削除しました。",
    },
    "forget_me.confirm": {
        "en": "Delete everything Senpai keeps about you, in every server: the solved threads "
        "you asked or answered, your feedback on suggestions and your question history? "
        "This cannot be undone.",
        "ja": "Senpai があなたについて保存しているもの（すべてのサーバーの、あなたが質問・回答した"
        "解決済みスレッド、提案へのフィードバック、質問の履歴）を削除しますか？元に戻せません。",
    },
    "forget_me.done": {
        "en": "Deleted: {entries} solved threads, {feedback} feedback records and {questions} "
        "question records, purged from Senpai's files too.",
        "ja": "削除しました：解決済みスレッド {entries}件、フィードバック {feedback}件、"
        "質問の履歴 {questions}件（Senpai のファイルからも消去済み）。",
    },
    "forget_me.hint": {
        "en": "Senpai may still keep your future questions and answers; /senpai privacy stops that.",
        "ja": "今後の質問や回答は保存されることがあります。/senpai プライバシー で止められます。",
    },
    "privacy.out": {
        "en": "Senpai will not keep your future questions or answers, in any server, nor your "
        "feedback on its suggestions. What is already stored stays until you use "
        "/senpai forget-me.",
        "ja": "Senpai は今後、どのサーバーでも、あなたの質問・回答や提案へのフィードバックを保存"
        "しません。すでに保存されているものは /senpai 自分のデータを削除 を使うまで残ります。",
    },
    "privacy.in": {
        "en": "When a post you asked or answered is marked solved, Senpai may keep your question "
        "or answer to point the next person to it. Choose “Stop” in /senpai privacy to stop that.",
        "ja": "あなたが質問・回答した投稿が解決済みになると、次の人に紹介できるよう Senpai が"
        "その質問や回答を保存することがあります。止めるには /senpai プライバシー で"
        "「今後は保存しない」を選んでください。",
    },
    "privacy.changed": {"en": "Saved. {text}", "ja": "設定しました。{text}"},
    "privacy.unchanged": {
        "en": "That was already your choice. {text}",
        "ja": "すでにその設定です。{text}",
    },
    "confirm.working": {"en": "Removing…", "ja": "削除しています…"},
    "confirm.cancelled": {"en": "Nothing was removed.", "ja": "何も削除していません。"},
    "confirm.expired": {
        "en": "This confirmation expired; nothing was removed.",
        "ja": "確認の時間が過ぎました。何も削除していません。",
    },
    "error.not_ready": {
        "en": "Senpai's index is being rebuilt; try again in a moment.",
        "ja": "インデックスを再構築中です。少し待ってからもう一度お試しください。",
    },
    "error.generic": {
        "en": "Something went wrong on Senpai's side. The moderators can check the logs.",
        "ja": "Senpai 側でエラーが発生しました。モデレーターがログを確認できます。",
    },
    # -- escalation and "me too" ------------------------------------------------
    "escalation.waiting": {
        "en": "🔔 Waiting for a first reply",
        "ja": "🔔 まだ返信がありません",
    },
    "escalation.asked": {
        "en": "Asked {age} ago, no reply from anyone but the asker. [Open the post]({url})",
        "ja": "{age}前に質問され、質問者以外の返信がありません。[投稿を開く]({url})",
    },
    "escalation.closest": {"en": "Closest solved threads", "ja": "近い解決済みスレッド"},
    "escalation.none": {
        "en": "No close solved thread.",
        "ja": "近い解決済みスレッドはありません。",
    },
    "escalation.answered": {
        "en": "✅ Answered — off the list",
        "ja": "✅ 返信がありました — 一覧から外れました",
    },
    "escalation.solved": {
        "en": "✅ Solved — off the list",
        "ja": "✅ 解決しました — 一覧から外れました",
    },
    "retraction.note": {
        "en": "✅ Solved by an earlier thread (since removed from the knowledge base).",
        "ja": "✅ 以前のスレッドで解決しました（そのスレッドはナレッジベースから削除されました）。",
    },
    "escalation.deleted": {
        "en": "🗑️ The post was deleted — off the list",
        "ja": "🗑️ 投稿が削除されました — 一覧から外れました",
    },
    "age.hour": {"en": "1 hour", "ja": "1時間"},
    "age.hours": {"en": "{n} hours", "ja": "{n}時間"},
    "age.days": {"en": "{n} days", "ja": "{n}日"},
    "button.me_too": {"en": "Me too", "ja": "同じく困っています"},
    "me_too.prompt": {
        "en": "Same problem? Press **Me too**: a shared problem is easier to spot.",
        "ja": "同じ問題で困っていますか？「同じく困っています」を押すと、共通の問題として気づいてもらいやすくなります。",
    },
    "me_too.count_one": {
        "en": "🙋 1 member has the same problem",
        "ja": "🙋 同じ問題で困っている人: 1人",
    },
    "me_too.count": {
        "en": "🙋 {count} members have the same problem",
        "ja": "🙋 同じ問題で困っている人: {count}人",
    },
    "me_too.counted": {
        "en": "Noted, you are not alone. Follow this post to hear when it is solved.",
        "ja": "記録しました。解決したときに知るには、この投稿をフォローしてください。",
    },
    "me_too.already": {"en": "You already said so.", "ja": "すでに記録済みです。"},
    "me_too.own_post": {
        "en": "This is your own post.",
        "ja": "ご自身の投稿です。",
    },
    "me_too.solved": {
        "en": "This post is already solved: see the answer above.",
        "ja": "この投稿はすでに解決済みです。上の回答をご覧ください。",
    },
    "me_too.notice_one": {
        "en": "✅ Solved. 1 member had the same problem: the answer is above.",
        "ja": "✅ 解決しました。同じ問題で困っていた1人の方も、上の回答をご覧ください。",
    },
    "me_too.notice": {
        "en": "✅ Solved. {count} members had the same problem: the answer is above.",
        "ja": "✅ 解決しました。同じ問題で困っていた{count}人の方も、上の回答をご覧ください。",
    },
    "setup.community": {
        "en": "Staff channel: {staff}\nEscalate unanswered posts after: {escalation}\n"
        "Me too on posts without suggestions: {me_too}\nStaff roles (report): {staff_roles}",
        "ja": "スタッフチャンネル: {staff}\n未返信の投稿をスタッフに知らせるまで: {escalation}\n"
        "提案のない投稿に「同じく困っています」: {me_too}\nスタッフロール（レポート）: {staff_roles}",
    },
    "report.no_chart": {
        "en": "The chart is not available: matplotlib is not installed on the bot's host "
        "(pip install 'senpai[report]').",
        "ja": "グラフは表示できません：ボットのサーバーに matplotlib がインストールされていません"
        "（pip install 'senpai[report]'）。",
    },
    "report.attached": {
        "en": "The full report is in the attached text file.",
        "ja": "レポートの全文は添付のテキストファイルにあります。",
    },
    "setup.not_text": {
        "en": "Senpai cannot post in {channel}: give it Send Messages there, or pick another "
        "channel.",
        "ja": "{channel} に投稿できません。送信権限を付与するか、別のチャンネルを選んでください。",
    },
    # -- scheduled reports and time zone ------------------------------------------
    "setup.bad_time_zone": {
        "en": "Unknown time zone “{zone}”: use an IANA name such as Asia/Tokyo, Europe/Paris "
        "or UTC (the list offers the common ones). Nothing was changed.",
        "ja": "「{zone}」というタイムゾーンはありません。Asia/Tokyo、Europe/Paris、UTC のような"
        " IANA 名を指定してください（候補から選べます）。設定は変更していません。",
    },
    "setup.time_zone": {
        "en": "Time zone (reports): {zone}",
        "ja": "タイムゾーン（レポート）: {zone}",
    },
    "schedule.rhythm.weekly": {"en": "weekly (Monday–Sunday)", "ja": "毎週（月曜〜日曜）"},
    "schedule.rhythm.monthly": {"en": "monthly (calendar month)", "ja": "毎月（暦月）"},
    "schedule.saved": {"en": "Schedule saved.", "ja": "定期レポートを設定しました。"},
    "schedule.current": {
        "en": "The community report is posted {rhythm} in {channel}.\n"
        "Next report: {due} ({zone}), covering {since} – {last}.",
        "ja": "コミュニティレポートを{rhythm}、{channel} に投稿します。\n"
        "次回: {due}（{zone}）、対象期間 {since} – {last}。",
    },
    "schedule.none": {
        "en": "No scheduled report. Choose a rhythm (weekly or monthly) and a channel to post "
        "the community report there after every week or month.",
        "ja": "定期レポートは設定されていません。頻度（毎週・毎月）とチャンネルを選ぶと、"
        "毎週または毎月そのチャンネルにコミュニティレポートを投稿します。",
    },
    "schedule.off": {
        "en": "Scheduled reports are off.",
        "ja": "定期レポートを停止しました。",
    },
    "schedule.need_rhythm": {
        "en": "Choose how often to post the report: weekly or monthly (rhythm).",
        "ja": "レポートを投稿する頻度（毎週・毎月）を選んでください。",
    },
    "schedule.need_channel": {
        "en": "Choose the text channel the report is posted in (channel).",
        "ja": "レポートを投稿するテキストチャンネルを選んでください。",
    },
    # -- credit for helpers ---------------------------------------------------------
    "credit.dm.intro": {
        "en": "🎉 Your answers in **{guild}** helped:",
        "ja": "🎉 **{guild}** でのあなたの回答が役に立ちました：",
    },
    "credit.dm.accepted": {
        "en": "• Your answer to [{title}]({url}) was chosen as the solution.",
        "ja": "• [{title}]({url}) であなたの回答が解決策に選ばれました。",
    },
    "credit.dm.reused_one": {
        "en": "• Your answer to [{title}]({url}) helped 1 more member in the last 30 days.",
        "ja": "• [{title}]({url}) でのあなたの回答が、この30日間でさらに1人の役に立ちました。",
    },
    "credit.dm.reused": {
        "en": "• Your answer to [{title}]({url}) helped {count} more members in the last 30 days.",
        "ja": "• [{title}]({url}) でのあなたの回答が、この30日間でさらに{count}人の役に立ちました。",
    },
    "credit.dm.more": {"en": "…and {count} more.", "ja": "…ほか{count}件。"},
    "credit.dm.footer": {
        "en": "Thank you! Stop these messages with the button or `/senpai credit`.",
        "ja": "ありがとうございます！ボタンか `/senpai credit` でこの通知を止められます。",
    },
    "button.credit_off": {"en": "Stop these messages", "ja": "通知を止める"},
    "credit.off_done": {
        "en": "Done: no more of these messages. `/senpai credit` turns them back on.",
        "ja": "通知を止めました。`/senpai credit` でまたオンにできます。",
    },
    "credit.prefs": {
        "en": "Messages when your answers help: **{notices}**\nListed on helper boards and "
        "thanks posts: **{listed}**",
        "ja": "回答が役に立ったときの通知：**{notices}**\nヘルパー一覧と感謝の投稿への掲載：**{listed}**",
    },
    "credit.on": {"en": "on", "ja": "オン"},
    "credit.off": {"en": "off", "ja": "オフ"},
    "credit.saved": {"en": "Saved.", "ja": "保存しました。"},
    "credit.board.title": {
        "en": "**Members whose answers helped most ({period})**",
        "ja": "**回答が最も役に立ったメンバー（{period}）**",
    },
    "credit.board.line": {
        "en": "{rank}. {name}: answers chosen as the solution: {accepted} · later posts solved: {reused}",
        "ja": "{rank}. {name}：解決策に選ばれた回答 {accepted}件、後の投稿の解決 {reused}件",
    },
    "credit.board.empty": {
        "en": "No answer was chosen or solved a later post in this period.",
        "ja": "この期間に解決策に選ばれた回答や、後の投稿を解決した回答はありません。",
    },
    "credit.board.footer": {
        "en": "-# Members can leave these lists with `/senpai credit listed:off`.",
        "ja": "-# `/senpai credit` の掲載をオフにすると一覧に載りません。",
    },
    "credit.period.7d": {"en": "last 7 days", "ja": "直近7日間"},
    "credit.period.30d": {"en": "last 30 days", "ja": "直近30日間"},
    "credit.period.month": {"en": "this month", "ja": "今月"},
    "credit.period.all": {"en": "all time", "ja": "全期間"},
    "credit.thanks.title": {
        "en": "🙏 **Thank you, helpers of {month}!** These members' answers helped most:",
        "ja": "🙏 **{month}に回答してくれた皆さん、ありがとうございます！** 特に役に立った回答をしてくれたメンバー：",
    },
    "credit.admin.settings": {
        "en": "Monthly thanks channel: {channel}\nAutomatic role: {role}",
        "ja": "毎月の感謝の投稿先：{channel}\n自動ロール：{role}",
    },
    "credit.admin.role": {
        "en": "{role} after {count} accepted answers",
        "ja": "解決策に選ばれた回答が{count}件で {role}",
    },
    "credit.admin.unset": {"en": "not set", "ja": "未設定"},
    "credit.admin.role_off": {
        "en": "{role}, off until `role_after` is more than 0",
        "ja": "{role}（ロール付与件数が0のため停止中）",
    },
    "credit.admin.role_forbidden": {
        "en": "⚠️ Senpai cannot give {role} yet: it needs the Manage Roles permission and a "
        "role higher than {role}. Nothing is granted until then.",
        "ja": "⚠️ Senpai はまだ {role} を付与できません。ロールの管理権限と、{role} より上位の"
        "ロールが必要です。それまでは付与されません。",
    },
    "credit.admin.bad_role": {
        "en": "{role} cannot be granted by a bot (it is managed or @everyone). Choose another role.",
        "ja": "{role} はボットが付与できないロールです（管理ロールまたは @everyone）。別のロールを選んでください。",
    },
    # -- invitations: someone who solved it before ---------------------------------
    "invite.message": {
        "en": "👋 A new post in **{guild}** looks like a problem you solved before, and "
        "nobody has answered it yet: [{title}]({url})\n"
        "It resembles your earlier thread: [{earlier}]({earlier_url})\n"
        "If you can help, reply in the post. At most {per_day} invitations a day; "
        "`/senpai invites off` stops them.",
        "ja": "👋 **{guild}** に、あなたが以前解決した問題に似た新しい投稿があり、まだ返信がありません: "
        "[{title}]({url})\n"
        "似ているあなたのスレッド: [{earlier}]({earlier_url})\n"
        "お手伝いいただける場合は投稿に返信してください。招待は1日{per_day}件までです。"
        "`/senpai 招待 オフ` で停止できます。",
    },
    "invite.on": {
        "en": "Done: Senpai will invite you (by direct message, at most a few a day) to new "
        "posts like ones you solved, when nobody has an answer yet.",
        "ja": "設定しました。あなたが解決した問題に似た新しい投稿に答えがないとき、Senpai が"
        "DM でお知らせします（1日数件まで）。",
    },
    "invite.unchanged_on": {
        "en": "You are already invited to new posts like ones you solved.",
        "ja": "すでに、解決した問題に似た新しい投稿への招待を受け取る設定です。",
    },
    "invite.off": {
        "en": "Done: Senpai will not invite you to new posts any more.",
        "ja": "設定しました。今後、新しい投稿への招待は送りません。",
    },
    "invite.unchanged_off": {
        "en": "You are not invited to new posts (that is the default).",
        "ja": "新しい投稿への招待は受け取らない設定です（既定）。",
    },
    "invite.opted_out": {
        "en": "You asked Senpai not to keep your messages (`/senpai privacy`), so it does not "
        "invite you either. Allow it there first.",
        "ja": "メッセージを保存しない設定（`/senpai プライバシー`）のため、招待もできません。"
        "先にそちらで許可してください。",
    },
    "invite.status_on": {
        "en": "You are invited to new posts like ones you solved. `/senpai invites off` stops it.",
        "ja": "解決した問題に似た新しい投稿への招待を受け取る設定です。"
        "`/senpai 招待 オフ` で停止できます。",
    },
    "invite.status_off": {
        "en": "You are not invited to new posts. `/senpai invites on` invites you (by direct "
        "message, at most a few a day) to new posts like ones you solved.",
        "ja": "新しい投稿への招待は受け取らない設定です。`/senpai 招待 オン` で、解決した問題に"
        "似た新しい投稿を DM でお知らせします（1日数件まで）。",
    },
    # -- the server's own glossary (/senpai-admin glossary) ----------------------------
    "glossary.added": {
        "en": "Added: 「{japanese}」 → {english}. Questions in this server now find threads "
        "written with either.",
        "ja": "追加しました：「{japanese}」 → {english}。このサーバーの質問で、どちらの言葉で"
        "書かれたスレッドも見つかるようになります。",
    },
    "glossary.updated": {
        "en": "Changed: 「{japanese}」 → {english}.",
        "ja": "変更しました：「{japanese}」 → {english}。",
    },
    "glossary.unchanged": {
        "en": "「{japanese}」 → {english} is already in this server's glossary.",
        "ja": "「{japanese}」 → {english} はすでに登録されています。",
    },
    "glossary.removed": {
        "en": "Removed 「{japanese}」 from this server's glossary.",
        "ja": "「{japanese}」を用語集から削除しました。",
    },
    "glossary.not_found": {
        "en": "「{japanese}」 is not in this server's glossary (`/senpai-admin glossary list` "
        "shows its terms).",
        "ja": "「{japanese}」は用語集にありません（`/senpai-管理 用語集 一覧` で確認できます）。",
    },
    "glossary.empty": {
        "en": "This server has no terms of its own yet. Add one with `/senpai-admin glossary "
        "add`, or import a file of 'Japanese<TAB>English' lines.",
        "ja": "このサーバー独自の用語はまだありません。`/senpai-管理 用語集 追加` で追加するか、"
        "「日本語<TAB>英語」の行のファイルをインポートしてください。",
    },
    "glossary.list_head": {
        "en": "This server's terms ({count}):",
        "ja": "このサーバーの用語（{count}件）：",
    },
    "glossary.list_more": {
        "en": "…and {count} more: `/senpai-admin glossary export` gives them all as a file.",
        "ja": "…ほか{count}件。`/senpai-管理 用語集 エクスポート` で全件をファイルで受け取れます。",
    },
    "glossary.imported": {
        "en": "Imported: {added} added, {updated} changed, {unchanged} already there.",
        "ja": "インポートしました：追加 {added}件、変更 {updated}件、登録済み {unchanged}件。",
    },
    "glossary.import_bad": {
        "en": "Nothing was imported. Fix these lines and import the file again:",
        "ja": "何もインポートしていません。次の行を直して、もう一度インポートしてください：",
    },
    "glossary.nothing_imported": {
        "en": "Nothing was imported.",
        "ja": "何もインポートしていません。",
    },
    "glossary.more_problems": {
        "en": "…and {count} more bad lines.",
        "ja": "…ほか{count}行に問題があります。",
    },
    "glossary.line": {"en": "line {line}: {reason}", "ja": "{line}行目：{reason}"},
    "glossary.too_big": {
        "en": "That file is too large: a glossary file is at most {limit} KB.",
        "ja": "ファイルが大きすぎます（用語集ファイルは {limit} KB まで）。",
    },
    "glossary.not_text": {
        "en": "That file is not UTF-8 text. Save it as UTF-8 with one 'Japanese<TAB>English' "
        "per line.",
        "ja": "UTF-8 のテキストファイルではありません。1行に「日本語<TAB>英語」で、UTF-8 で"
        "保存してください。",
    },
    "glossary.unreadable": {
        "en": "Senpai could not download that file. Please attach it again.",
        "ja": "ファイルをダウンロードできませんでした。もう一度添付してください。",
    },
    "glossary.exported": {
        "en": "This server's {count} terms, as a file to edit and import again.",
        "ja": "このサーバーの用語 {count}件です。編集して再びインポートできます。",
    },
    "glossary.problem.empty": {
        "en": "a Japanese and an English term are both needed",
        "ja": "日本語と英語の両方の用語が必要です",
    },
    "glossary.problem.format": {
        "en": "write one Japanese term, a tab, then its English ('|' between English synonyms)",
        "ja": "日本語の用語、タブ、英語の順に書いてください（英語の同義語は「|」で区切る）",
    },
    "glossary.problem.not_japanese": {
        "en": "the Japanese term has no Japanese characters",
        "ja": "日本語の用語に日本語の文字がありません",
    },
    "glossary.problem.has_japanese": {
        "en": "the English term contains Japanese characters",
        "ja": "英語の用語に日本語の文字が含まれています",
    },
    "glossary.problem.too_long": {
        "en": "a term is at most {limit} characters",
        "ja": "用語は {limit} 文字までです",
    },
    "glossary.problem.too_many_synonyms": {
        "en": "at most {limit} English synonyms per term",
        "ja": "英語の同義語は1つの用語につき {limit} 個までです",
    },
    "glossary.problem.too_short": {
        "en": "a term is too short for Senpai to find it in questions",
        "ja": "用語が短すぎて、質問の中から見つけられません",
    },
    "glossary.problem.duplicate": {
        "en": "this Japanese term is already on an earlier line",
        "ja": "この日本語の用語は前の行にもあります",
    },
    "glossary.problem.full": {
        "en": "a server's glossary holds at most {limit} terms",
        "ja": "用語集は1サーバーにつき {limit} 件までです",
    },
    "glossary.problem.too_many_lines": {
        "en": "a glossary file is at most {limit} lines",
        "ja": "用語集ファイルは {limit} 行までです",
    },
}


def t(key: str, lang: str, **values: object) -> str:
    """The message ``key`` in ``lang`` (English when the language is unknown)."""
    entry = MESSAGES[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def choose_language(
    configured: str = "auto", *, text: str | None = None, locale: object = None
) -> str:
    """The one language rule: the guild's setting, else the language of the member's
    text (replies to a post), else their Discord locale (interactions), else English."""
    if configured in LANGUAGES:
        return configured
    if text:
        return detect_language(text)
    return "ja" if str(locale or "").startswith("ja") else "en"


# Slash command names and descriptions in Japanese (English is the source text).
COMMAND_TRANSLATIONS: dict[str, str] = {
    "senpai": "senpai",
    "Senpai: find solved threads": "Senpai：解決済みスレッドを探す",
    "senpai-admin": "senpai-管理",
    "Senpai's settings and upkeep (Manage Server)": "Senpai の設定と管理（サーバー管理権限）",
    "search": "検索",
    "Find solved threads about a problem (only you see the answer)": "問題に関する解決済みスレッドを探す（結果はあなたにだけ表示）",
    "query": "キーワード",
    "Describe the problem in a few words": "問題を短く説明してください",
    "setup": "設定",
    "Configure Senpai for this server (admins)": "このサーバーの Senpai を設定（管理者）",
    "watch": "対象に追加",
    "A forum to watch (add or remove)": "対象にするフォーラム（追加/解除）",
    "helper_role": "ヘルパーロール",
    "A role whose members may mark solutions (add or remove)": "解決策を選べるロール（追加/解除）",
    "solved_tag": "解決済みタグ",
    "Name of the forum tag that means solved": "解決済みを表すフォーラムタグ名",
    "threshold": "しきい値",
    "How sure Senpai must be before suggesting (0.1–0.95)": "提案に必要な確からしさ（0.1〜0.95）",
    "language": "言語",
    "Language of Senpai's messages": "Senpai のメッセージの言語",
    "nudge_hours": "リマインド時間",
    "Hours before asking the asker if a reply solved it (0 = never)": "返信で解決したか質問者に確認するまでの時間（0 = しない）",
    "archive_on_solve": "解決時にアーカイブ",
    "Archive posts when they are marked solved": "解決済みにした投稿をアーカイブする",
    "rebuild": "再構築",
    "Rebuild the search index from the knowledge base (admins)": "ナレッジベースから検索インデックスを再構築（管理者）",
    "backfill": "取り込み",
    "Capture solved threads from the watched forums' history (admins)": "対象フォーラムの過去の解決済みスレッドを取り込む（管理者）",
    "stats": "統計",
    "What the knowledge base holds and how the community is doing (admins)": "ナレッジベースとコミュニティの状況（管理者）",
    "forget": "削除",
    "Remove everything a member asked and answered (admins)": "メンバーの質問と回答をすべて削除（管理者）",
    "user": "ユーザー",
    "The member whose content to remove": "内容を削除するメンバー",
    "forget-me": "自分のデータを削除",
    "Delete everything Senpai keeps about you (asks first)": "Senpai が保存しているあなたのデータをすべて削除（確認あり）",
    "privacy": "プライバシー",
    "Whether Senpai may keep your questions and answers": "Senpai があなたの質問と回答を保存してよいか",
    "capture": "保存",
    "Stop or allow keeping your future questions and answers (default: show your choice)": "今後の質問と回答の保存を止める／許可する（省略時は現在の設定を表示）",
    "Stop: do not keep my questions and answers": "今後は保存しない",
    "Allow: keep my questions and answers": "保存を許可する",
    "solved": "解決済み",
    "Mark this post solved and save its answer to the knowledge base": "この投稿を解決済みにし、回答をナレッジベースに保存",
    "message": "メッセージ",
    "Link to the reply that solved it (default: the most likely reply)": "解決した返信へのリンク（省略時は最も可能性の高い返信）",
    "unsolved": "未解決",
    "Remove this post's solution from the knowledge base": "この投稿の解決策をナレッジベースから削除",
    "Mark as solution": "解決策としてマーク",
    "staff_channel": "スタッフチャンネル",
    "Channel listing posts nobody answered (choose it again to unset)": "誰も返信していない投稿をスタッフに知らせるチャンネル（もう一度選ぶと解除）",
    "escalation_hours": "スタッフ通知時間",
    "Hours without a reply before a post goes to staff (0 = never)": "返信がない投稿をスタッフチャンネルに知らせるまでの時間（0 = しない）",
    "me_too_on_posts": "同じく困っていますボタン",
    "staff_role": "スタッフロール",
    "A role counted as staff in the community report (add or remove)": "コミュニティレポートでスタッフとして数えるロール（追加/解除）",
    "report": "レポート",
    "The community report: questions, replies, solved, with a chart (admins)": "コミュニティレポート：質問・返信・解決とグラフ（管理者）",
    "period": "期間",
    "Which days to report on (default: the last 7 days)": "レポートの対象期間（省略時は直近7日間）",
    "last 7 days": "直近7日間",
    "last 30 days": "直近30日間",
    "last calendar month": "先月",
    "Add a Me too button to new posts that got no suggestion": "提案のない新しい投稿にも「同じく困っています」ボタンを付ける",
    # -- scheduled reports and time zone ------------------------------------------
    "time_zone": "タイムゾーン",
    "Time zone of reports' days, weeks and months (e.g. Asia/Tokyo)": "レポートの日・週・月を数えるタイムゾーン（例: Asia/Tokyo）",
    "schedule": "定期レポート",
    "Post the community report in a staff channel every week or month (admins)": "コミュニティレポートを毎週または毎月スタッフチャンネルに投稿（管理者）",
    "rhythm": "頻度",
    "How often: weekly, monthly, or off (default: show the schedule)": "頻度：毎週・毎月・停止（省略時は現在の設定を表示）",
    "channel": "チャンネル",
    "The staff channel the report is posted in": "レポートを投稿するスタッフチャンネル",
    "weekly": "毎週",
    "monthly": "毎月",
    # -- credit for helpers ---------------------------------------------------------
    "helpers": "ヘルパー",
    "The members whose answers helped most (only you see it)": "回答が最も役に立ったメンバー（あなたにだけ表示）",
    "Which days to count (default: the last 30 days)": "数える期間（省略時は直近30日間）",
    "this month": "今月",
    "all time": "全期間",
    "credit": "クレジット",
    "Messages when your answers help, and being listed on helper boards": "回答が役に立ったときの通知と、ヘルパー一覧への掲載",
    "notices": "通知",
    "Direct messages when your answer is chosen or solves a later post": "回答が解決策に選ばれたり後の投稿を解決したときのダイレクトメッセージ",
    "listed": "掲載",
    "Your name on /senpai helpers and the monthly thanks post": "/senpai helpers と毎月の感謝の投稿にあなたの名前を載せる",
    "on": "オン",
    "off": "オフ",
    "Monthly thanks post and automatic helper role (admins)": "毎月の感謝の投稿とヘルパーの自動ロール（管理者）",
    "thanks_channel": "感謝チャンネル",
    "Channel for the monthly thanks post (choose it again to unset)": "毎月の感謝の投稿先チャンネル（もう一度選ぶと解除）",
    "role": "ロール",
    "Role given after enough accepted answers (choose it again to unset)": "解決策に選ばれた回答が一定数に達したら付与するロール（もう一度選ぶと解除）",
    "role_after": "ロール付与件数",
    "Accepted answers before the role is given (0 = never)": "ロールを付与するまでの解決策に選ばれた回答数（0 = しない）",
    # -- invitations
    "invites": "招待",
    "Be invited to new posts like ones you solved": "解決した問題に似た新しい投稿に招待してもらう",
    "choice": "設定",
    "On or off (default: show your choice)": "オンまたはオフ（省略時は現在の設定を表示）",
    # -- the server's own glossary
    "glossary": "用語集",
    "This server's own Japanese/English terms for search (admins)": "検索に使うこのサーバー独自の日本語／英語の用語（管理者）",
    "add": "追加",
    "Add a term: Japanese, and its English (admins)": "用語を追加：日本語とその英語（管理者）",
    "japanese": "日本語",
    "english": "英語",
    "The Japanese term, e.g. スマート配信": "日本語の用語（例：スマート配信）",
    "Its English, e.g. Smart Send (| between synonyms)": "その英語（例：Smart Send、同義語は | で区切る）",
    "remove": "削除",
    "Remove one of this server's terms": "このサーバーの用語を削除",
    "The Japanese term to remove": "削除する日本語の用語",
    "list": "一覧",
    "Show this server's terms": "このサーバーの用語を表示",
    "import": "インポート",
    "Add terms from a file: one 'Japanese<TAB>English' per line (admins)": "ファイルから用語を追加：1行に「日本語<TAB>英語」（管理者）",
    "file": "ファイル",
    "A UTF-8 text file (.tsv): Japanese<TAB>English per line": "UTF-8 のテキストファイル（.tsv）：1行に日本語<TAB>英語",
    "export": "エクスポート",
    "This server's terms as a file to edit and import": "このサーバーの用語をファイルで受け取る（編集して再インポート可）",
}


class SenpaiTranslator(app_commands.Translator):
    """Japanese names and descriptions for Senpai's application commands."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale is not discord.Locale.japanese:
            return None
        return COMMAND_TRANSLATIONS.get(string.message)
