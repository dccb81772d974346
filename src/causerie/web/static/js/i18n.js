// Every string the web client shows, in French and English, and the plain-words sentence for
// every error code of src/causerie/errors.py. Nothing else in the client holds user-facing text.

export const LANGUAGES = { fr: "Français", en: "English" };
const STORAGE_KEY = "causerie.lang";

const STRINGS = {
  fr: {
    "app.tagline": "Discuter avec des gens près de chez vous, tout de suite, sans inscription.",
    "lang.label": "Langue",
    "entry.title": "Entrer sur le chat",
    "entry.nickname": "Pseudo",
    "entry.nickname_hint": "3 à 20 caractères : lettres, chiffres, « . », « - » et « _ ».",
    "entry.age": "Âge",
    "entry.gender": "Genre",
    "entry.postal": "Code postal",
    "entry.postal_hint": "Il sert à trouver votre région ; seuls votre région et votre département sont visibles.",
    "entry.submit": "Entrer",
    "entry.connecting": "Connexion…",
    "entry.rules":
      "Ouvert à partir de 13 ans. Les adultes ne peuvent pas écrire en privé aux mineurs. " +
      "Ne donnez jamais votre adresse, votre numéro ou des photos à quelqu'un que vous ne " +
      "connaissez pas.",
    "entry.ephemeral": "Pas d'inscription, pas de mot de passe : les messages s'effacent après quelques heures.",
    "gender.choose": "Choisir…",
    "gender.woman": "Femme",
    "gender.man": "Homme",
    "gender.nonbinary": "Non binaire",
    "gender.other": "Autre",
    "header.quit": "Quitter le site",
    "header.quit_title": "Quitter causerie : vos salons et conversations sont fermés.",
    "rooms.count_minor": "{n} jeunes en ligne",
    "rooms.count_minor_title": "Vous ne voyez que les personnes de moins de 18 ans.",
    "members.minor_note": "Pour votre protection, seules les personnes de moins de 18 ans sont listées ici.",
    "chat.new_below": "Nouveaux messages ↓",
    "chat.today": "Aujourd'hui",
    "chat.yesterday": "Hier",
    "chat.composer_hint": "Entrée pour envoyer, Maj+Entrée pour aller à la ligne.",
    "chat.offline": "Non envoyé : la connexion est coupée.",
    "chat.reconnecting": "Reconnexion…",
    "chat.person_card": "Options pour {nickname}",
    "chat.options": "Options",
    "attention.title": "Alertes",
    "attention.sound": "Son",
    "attention.notify": "Notifications",
    "attention.denied": "Le navigateur bloque les notifications pour ce site.",
    "notify.private": "{nickname} vous écrit",
    "notify.mention": "{nickname} vous mentionne dans {room}",
    "card.title": "{nickname}",
    "card.close": "Fermer",
    "card.report": "Signaler",
    "report.title": "Signaler {nickname}",
    "report.reason": "Motif",
    "report.details": "Précisions (facultatif)",
    "report.send": "Envoyer le signalement",
    "report.other": "Autre",
    "report.done": "Signalement envoyé. Merci : une personne de l'équipe va le regarder.",
    "report.unsupported":
      "Ce serveur ne permet pas encore de signaler. En attendant, ignorez cette personne ; en cas de danger, appelez le 3018.",
    "conn.closed_plain": "Vous avez été déconnecté·e.",
    "header.me": "Connecté·e en tant que {nickname}",
    "nav.label": "Sections",
    "nav.rooms": "Salons",
    "nav.people": "Personnes",
    "nav.chat": "Discussions",
    "nav.members": "Membres",
    "rooms.title": "Salons",
    "rooms.themed": "Thèmes",
    "rooms.regional": "Régions",
    "rooms.user": "Salons des membres",
    "rooms.count": "{n} en ligne",
    "rooms.joined": "rejoint",
    "rooms.teens": "13-17 ans",
    "rooms.adults": "18 ans et +",
    "rooms.forbidden_adults": "Réservé aux adultes",
    "rooms.forbidden_teens": "Réservé aux 13-17 ans",
    "rooms.your_region": "votre région",
    "rooms.loading": "Chargement des salons…",
    "rooms.refresh": "Actualiser",
    "rooms.create": "Créer un salon",
    "rooms.create_name": "Nom du salon",
    "rooms.create_topic": "Sujet (facultatif)",
    "rooms.create_submit": "Créer",
    "people.title": "Personnes connectées",
    "people.filters": "Filtres",
    "people.age": "Âge",
    "people.any": "Tous",
    "people.gender": "Genre",
    "people.region": "Région",
    "people.refresh": "Actualiser",
    "people.empty": "Personne ne correspond à ces filtres pour le moment.",
    "people.write": "Écrire",
    "people.ignore": "Ignorer",
    "people.unignore": "Ne plus ignorer",
    "people.ignored_title": "Personnes ignorées",
    "people.ignored_none": "Vous n'ignorez personne.",
    "people.note_minor":
      "Pour votre protection, vous ne voyez ici que des personnes de moins de 18 ans, et les " +
      "adultes ne peuvent pas vous écrire en privé. Si quelqu'un vous met mal à l'aise, " +
      "ignorez-le et parlez-en à un adulte de confiance.",
    "people.note_adult":
      "Pour protéger les mineurs, les moins de 18 ans ne sont pas listés ici et ne peuvent pas " +
      "recevoir vos messages privés.",
    "person.age": "{age} ans",
    "person.you": "vous",
    "chat.empty_title": "Choisissez un salon",
    "chat.empty_text":
      "Rejoignez un salon dans la liste, ou écrivez à une personne connectée. " +
      "Vous pouvez être dans plusieurs salons à la fois.",
    "chat.tabs": "Conversations ouvertes",
    "chat.leave": "Quitter le salon",
    "chat.close": "Fermer",
    "chat.close_tab": "Fermer {name}",
    "chat.unread": "{n} non lu(s)",
    "chat.topic_none": "Pas de sujet pour l'instant.",
    "chat.edit_topic": "Modifier le sujet",
    "chat.topic_label": "Nouveau sujet",
    "chat.save": "Enregistrer",
    "chat.cancel": "Annuler",
    "chat.host": "Vous êtes l'hôte de ce salon.",
    "chat.private_with": "Conversation privée avec {nickname}",
    "chat.private": "Conversation privée",
    "chat.private_note":
      "Ne partagez jamais d'informations personnelles. Vous pouvez ignorer cette personne à tout moment.",
    "chat.message_label": "Votre message",
    "chat.placeholder_room": "Écrire dans {room}…",
    "chat.placeholder_private": "Écrire à {nickname}…",
    "chat.send": "Envoyer",
    "chat.typing_one": "{a} est en train d'écrire…",
    "chat.typing_two": "{a} et {b} écrivent…",
    "chat.typing_many": "Plusieurs personnes écrivent…",
    "chat.member_joined": "{nickname} est arrivé·e.",
    "chat.member_left": "{nickname} est parti·e.",
    "chat.topic_changed": "{nickname} a changé le sujet : {topic}",
    "chat.masked": "Message masqué : il peut être choquant.",
    "chat.reveal": "Afficher",
    "chat.hide": "Masquer",
    "chat.pending": "envoi…",
    "chat.failed": "Non envoyé : {reason}",
    "chat.ephemeral": "Les messages s'effacent après {hours} h.",
    "chat.private_new": "Nouveau message privé de {nickname}",
    "chat.open_private": "Écrire en privé à {nickname}",
    "photo.attach": "Joindre une photo",
    "photo.staged": "Photo prête : {name} ({size})",
    "photo.staged_hint": "Ajoutez une légende si vous voulez, puis « Envoyer ».",
    "photo.remove": "Retirer la photo",
    "photo.preview_alt": "Aperçu de votre photo",
    "photo.queued": "En attente d'envoi…",
    "photo.asking": "Préparation de l'envoi…",
    "photo.sending": "Envoi : {sent} sur {total} ({pct} %)",
    "photo.checking": "Vérification de la photo…",
    "photo.progress_label": "Envoi de la photo",
    "photo.alt": "Photo de {nickname}",
    "photo.alt_caption": "Photo de {nickname} : {caption}",
    "photo.open": "Voir la photo en grand",
    "photo.masked": "Photo masquée : elle peut être choquante. Elle ne s'affiche que si vous le demandez.",
    "photo.viewer_title": "Photo de {nickname}",
    "photo.close": "Fermer la photo",
    "photo.original": "Ouvrir dans un nouvel onglet",
    "photo.private_new": "Nouvelle photo de {nickname} en privé",
    "photo.drop": "Déposez la photo ici pour l'envoyer dans cette conversation.",
    "photo.caption_too_long": "La légende de la photo est trop longue : raccourcissez-la.",
    "photo.report": "Signaler la photo",
    "photo.report_title": "Signaler cette photo de {nickname}",
    "members.title": "Membres ({n})",
    "members.more": "Voir plus de membres",
    "members.none": "Ouvrez un salon pour voir qui s'y trouve.",
    "members.private": "Vous discutez en privé avec {nickname}.",
    "conn.lost": "Connexion perdue. Reconnexion…",
    "conn.back": "Reconnecté·e.",
    "conn.closed": "Vous avez été déconnecté·e : {reason}",
    "conn.failed": "Impossible de joindre le serveur. Vérifiez votre connexion puis réessayez.",
    "conn.retry": "Réessayer",
    "toast.close": "Fermer",
    "verify.title": "Vérifier mon âge (salons pour adultes)",
    "verify.text":
      "Les salons pour adultes demandent une preuve que vous avez plus de 18 ans, délivrée par " +
      "un service de vérification d'âge. Collez ici le jeton qu'il vous a remis : causerie " +
      "n'apprend que « plus de 18 ans », rien d'autre sur vous.",
    "verify.token": "Jeton de vérification",
    "verify.submit": "Vérifier",
    "verify.done": "Âge vérifié : les salons pour adultes vous sont ouverts.",
    "band.changed":
      "Vous avez écrit avoir moins de 18 ans : causerie vous considère donc désormais comme " +
      "mineur·e. Les salons pour adultes et les conversations privées avec des adultes vous " +
      "sont fermés.",
    "band.remembered":
      "Quelqu'un sur cet appareil ou cette connexion a indiqué être plus jeune il y a peu : " +
      "causerie garde donc pour l'instant les protections des moins de 18 ans.",
    "time.retry_seconds": "Réessayez dans {s} s.",
    "time.retry_later": "Réessayez dans un moment.",
  },
  en: {
    "app.tagline": "Talk to people near you, right now, without signing up.",
    "lang.label": "Language",
    "entry.title": "Enter the chat",
    "entry.nickname": "Nickname",
    "entry.nickname_hint": "3 to 20 characters: letters, digits, “.”, “-” and “_”.",
    "entry.age": "Age",
    "entry.gender": "Gender",
    "entry.postal": "Postal code",
    "entry.postal_hint": "It finds your region; only your region and département are shown to others.",
    "entry.submit": "Enter",
    "entry.connecting": "Connecting…",
    "entry.rules":
      "Open from 13 years old. Adults cannot write privately to minors. Never give your " +
      "address, your number or photos to someone you do not know.",
    "entry.ephemeral": "No sign-up, no password: messages disappear after a few hours.",
    "gender.choose": "Choose…",
    "gender.woman": "Woman",
    "gender.man": "Man",
    "gender.nonbinary": "Non-binary",
    "gender.other": "Other",
    "header.quit": "Log out",
    "header.quit_title": "Leave causerie: your rooms and conversations are closed.",
    "rooms.count_minor": "{n} teens online",
    "rooms.count_minor_title": "You only see people under 18.",
    "members.minor_note": "For your protection, only people under 18 are listed here.",
    "chat.new_below": "New messages ↓",
    "chat.today": "Today",
    "chat.yesterday": "Yesterday",
    "chat.composer_hint": "Enter sends, Shift+Enter starts a new line.",
    "chat.offline": "Not sent: the connection is down.",
    "chat.reconnecting": "Reconnecting…",
    "chat.person_card": "Options for {nickname}",
    "chat.options": "Options",
    "attention.title": "Alerts",
    "attention.sound": "Sound",
    "attention.notify": "Notifications",
    "attention.denied": "The browser blocks notifications for this site.",
    "notify.private": "{nickname} is writing to you",
    "notify.mention": "{nickname} mentions you in {room}",
    "card.title": "{nickname}",
    "card.close": "Close",
    "card.report": "Report",
    "report.title": "Report {nickname}",
    "report.reason": "Reason",
    "report.details": "Details (optional)",
    "report.send": "Send the report",
    "report.other": "Other",
    "report.done": "Report sent. Thank you: a member of the team will look at it.",
    "report.unsupported":
      "This server cannot take reports yet. Meanwhile, ignore this person; if you are in danger, call 3018 (France).",
    "conn.closed_plain": "You were disconnected.",
    "header.me": "Signed in as {nickname}",
    "nav.label": "Sections",
    "nav.rooms": "Rooms",
    "nav.people": "People",
    "nav.chat": "Chats",
    "nav.members": "Members",
    "rooms.title": "Rooms",
    "rooms.themed": "Topics",
    "rooms.regional": "Regions",
    "rooms.user": "Members' rooms",
    "rooms.count": "{n} online",
    "rooms.joined": "joined",
    "rooms.teens": "13-17",
    "rooms.adults": "18+",
    "rooms.forbidden_adults": "Adults only",
    "rooms.forbidden_teens": "For 13-17 year olds only",
    "rooms.your_region": "your region",
    "rooms.loading": "Loading rooms…",
    "rooms.refresh": "Refresh",
    "rooms.create": "Create a room",
    "rooms.create_name": "Room name",
    "rooms.create_topic": "Topic (optional)",
    "rooms.create_submit": "Create",
    "people.title": "People online",
    "people.filters": "Filters",
    "people.age": "Age",
    "people.any": "Any",
    "people.gender": "Gender",
    "people.region": "Region",
    "people.refresh": "Refresh",
    "people.empty": "Nobody matches these filters right now.",
    "people.write": "Write",
    "people.ignore": "Ignore",
    "people.unignore": "Stop ignoring",
    "people.ignored_title": "Ignored people",
    "people.ignored_none": "You are not ignoring anyone.",
    "people.note_minor":
      "To keep you safe, you only see under-18s here, and adults cannot write to you " +
      "privately. If someone makes you uncomfortable, ignore them and talk to an adult you trust.",
    "people.note_adult":
      "To protect minors, under-18s are not listed here and cannot receive your private " +
      "messages.",
    "person.age": "{age}",
    "person.you": "you",
    "chat.empty_title": "Pick a room",
    "chat.empty_text":
      "Join a room from the list, or write to someone online. You can be in several rooms at once.",
    "chat.tabs": "Open conversations",
    "chat.leave": "Leave the room",
    "chat.close": "Close",
    "chat.close_tab": "Close {name}",
    "chat.unread": "{n} unread",
    "chat.topic_none": "No topic yet.",
    "chat.edit_topic": "Change the topic",
    "chat.topic_label": "New topic",
    "chat.save": "Save",
    "chat.cancel": "Cancel",
    "chat.host": "You host this room.",
    "chat.private_with": "Private conversation with {nickname}",
    "chat.private": "Private conversation",
    "chat.private_note":
      "Never share personal information. You can ignore this person at any time.",
    "chat.message_label": "Your message",
    "chat.placeholder_room": "Write in {room}…",
    "chat.placeholder_private": "Write to {nickname}…",
    "chat.send": "Send",
    "chat.typing_one": "{a} is typing…",
    "chat.typing_two": "{a} and {b} are typing…",
    "chat.typing_many": "Several people are typing…",
    "chat.member_joined": "{nickname} joined.",
    "chat.member_left": "{nickname} left.",
    "chat.topic_changed": "{nickname} changed the topic: {topic}",
    "chat.masked": "Hidden message: it may be upsetting.",
    "chat.reveal": "Show",
    "chat.hide": "Hide",
    "chat.pending": "sending…",
    "chat.failed": "Not sent: {reason}",
    "chat.ephemeral": "Messages disappear after {hours} h.",
    "chat.private_new": "New private message from {nickname}",
    "chat.open_private": "Write privately to {nickname}",
    "photo.attach": "Attach a photo",
    "photo.staged": "Photo ready: {name} ({size})",
    "photo.staged_hint": "Add a caption if you like, then “Send”.",
    "photo.remove": "Remove the photo",
    "photo.preview_alt": "Preview of your photo",
    "photo.queued": "Waiting to send…",
    "photo.asking": "Getting ready to send…",
    "photo.sending": "Sending: {sent} of {total} ({pct}%)",
    "photo.checking": "Checking the photo…",
    "photo.progress_label": "Sending the photo",
    "photo.alt": "Photo from {nickname}",
    "photo.alt_caption": "Photo from {nickname}: {caption}",
    "photo.open": "See the photo full size",
    "photo.masked": "Hidden photo: it may be upsetting. It shows only if you ask.",
    "photo.viewer_title": "Photo from {nickname}",
    "photo.close": "Close the photo",
    "photo.original": "Open in a new tab",
    "photo.private_new": "New private photo from {nickname}",
    "photo.drop": "Drop the photo here to send it in this conversation.",
    "photo.caption_too_long": "The photo's caption is too long: shorten it.",
    "photo.report": "Report the photo",
    "photo.report_title": "Report this photo from {nickname}",
    "members.title": "Members ({n})",
    "members.more": "Show more members",
    "members.none": "Open a room to see who is in it.",
    "members.private": "You are talking privately with {nickname}.",
    "conn.lost": "Connection lost. Reconnecting…",
    "conn.back": "Reconnected.",
    "conn.closed": "You were disconnected: {reason}",
    "conn.failed": "Cannot reach the server. Check your connection and try again.",
    "conn.retry": "Try again",
    "toast.close": "Close",
    "verify.title": "Verify my age (adult rooms)",
    "verify.text":
      "Adult rooms ask for proof that you are over 18, issued by an age verification service. " +
      "Paste the token it gave you here: causerie only learns “over 18”, nothing else about you.",
    "verify.token": "Verification token",
    "verify.submit": "Verify",
    "verify.done": "Age verified: adult rooms are open to you.",
    "band.changed":
      "You wrote that you are under 18, so causerie now treats you as under 18: adult rooms " +
      "and private chats with adults are closed to you.",
    "band.remembered":
      "Someone on this device or connection said they were younger a short while ago, so " +
      "causerie keeps the protections for under-18s for now.",
    "time.retry_seconds": "Try again in {s} s.",
    "time.retry_later": "Try again in a moment.",
  },
};

// One entry per ErrorCode. `minor` variants speak to a chatter under 18 when the refusal exists
// to protect them: they must understand it is a rule for their safety, not a fault of theirs.
// `retry` marks rate limits, whose sentence ends with when to try again. `detail` marks safety
// decisions whose server message names the category and the duration (English only, for now):
// an English reader gets that message, others the translated general sentence.
export const ERRORS = {
  malformed_frame: {
    fr: "Le serveur n'a pas compris la demande. Rechargez la page.",
    en: "The server did not understand the request. Reload the page.",
  },
  unknown_frame: {
    fr: "Le serveur ne connaît pas cette action. Rechargez la page pour avoir la dernière version.",
    en: "The server does not know this action. Reload the page to get the latest version.",
  },
  invalid_field: {
    fr: "Une des informations envoyées n'est pas valable.",
    en: "One of the details sent is not valid.",
  },
  frame_too_large: {
    fr: "Ce que vous avez envoyé est trop long.",
    en: "What you sent is too long.",
  },
  binary_not_supported: {
    fr: "Ce type d'envoi n'est pas accepté.",
    en: "This kind of content is not accepted.",
  },
  not_entered: {
    fr: "Entrez d'abord sur le chat avec un pseudo.",
    en: "Enter the chat with a nickname first.",
  },
  already_entered: {
    fr: "Vous êtes déjà entré·e sur le chat.",
    en: "You have already entered the chat.",
  },
  nickname_invalid: {
    fr:
      "Ce pseudo n'est pas valable : 3 à 20 caractères, commençant par une lettre, avec " +
      "seulement des lettres d'un même alphabet, des chiffres, « . », « - » et « _ ».",
    en:
      "This nickname is not valid: 3 to 20 characters, starting with a letter, using letters " +
      "of one alphabet, digits, “.”, “-” and “_” only.",
  },
  nickname_taken: {
    fr: "Quelqu'un de connecté utilise déjà ce pseudo (ou un pseudo très proche). Choisissez-en un autre.",
    en: "Someone online already uses this nickname (or one very like it). Choose another one.",
  },
  nickname_refused: {
    fr: "Ce pseudo n'est pas accepté ici. Choisissez-en un autre.",
    en: "This nickname is not allowed here. Choose another one.",
  },
  age_too_young: {
    fr: "causerie est ouvert à partir de 13 ans : vous ne pouvez pas encore entrer. À bientôt !",
    en: "causerie is open from 13 years old: you cannot enter yet. See you later!",
  },
  age_invalid: {
    fr: "Indiquez votre âge, entre 13 et 99 ans.",
    en: "Enter your age, between 13 and 99.",
  },
  gender_invalid: {
    fr: "Choisissez un genre dans la liste.",
    en: "Choose a gender from the list.",
  },
  postal_code_invalid: {
    fr: "Ce code postal n'existe pas : un code postal français a cinq chiffres, par exemple 75011.",
    en: "This postal code does not exist: a French postal code has five digits, for example 75011.",
  },
  room_not_found: {
    fr: "Ce salon n'existe pas ou plus.",
    en: "This room does not exist (any more).",
  },
  not_in_room: {
    fr: "Rejoignez ce salon avant d'y écrire.",
    en: "Join this room before writing in it.",
  },
  room_name_invalid: {
    fr: "Un nom de salon a de 3 à 40 caractères, dont au moins 3 lettres ou chiffres.",
    en: "A room name has 3 to 40 characters, at least 3 of them letters or digits.",
  },
  room_name_refused: {
    fr: "Ce nom ou ce sujet de salon n'est pas accepté ici.",
    en: "This room name or topic is not allowed here.",
  },
  room_exists: {
    fr: "Un salon porte déjà ce nom (ou un nom très proche) : rejoignez-le ou choisissez un autre nom.",
    en: "A room with this name (or one very like it) exists already: join it or choose another name.",
  },
  room_forbidden: {
    fr:
      "Ce salon est réservé à une autre tranche d'âge : les salons pour adultes sont fermés aux " +
      "moins de 18 ans et les salons ados sont réservés aux 13-17 ans.",
    en:
      "This room is for another age group: adult rooms are closed to under-18s and teen rooms " +
      "are for 13 to 17 year olds only.",
    fr_minor:
      "Ce salon est réservé aux adultes. Pour vous protéger, les moins de 18 ans ne peuvent pas " +
      "y entrer : ce n'est pas une punition, c'est une règle de sécurité.",
    en_minor:
      "This room is for adults only. To keep you safe, under-18s cannot enter it: it is not a " +
      "punishment, it is a safety rule.",
  },
  not_room_host: {
    fr: "Seul·e l'hôte du salon peut changer son sujet.",
    en: "Only the room's host can change its topic.",
  },
  too_many_rooms: {
    fr: "Vous êtes déjà dans le nombre maximum de salons. Quittez-en un pour en rejoindre un autre.",
    en: "You are already in as many rooms as allowed. Leave one to join another.",
  },
  recipient_not_found: {
    fr: "Cette personne n'est plus connectée.",
    en: "This person is not connected any more.",
  },
  cannot_message_self: {
    fr: "Vous ne pouvez pas vous écrire ni vous ignorer vous-même.",
    en: "You cannot write to or ignore yourself.",
  },
  conversation_forbidden: {
    fr:
      "Cette conversation privée n'est pas possible : pour protéger les mineurs, les adultes et " +
      "les moins de 18 ans ne peuvent pas discuter en privé.",
    en:
      "This private conversation is not possible: to protect minors, adults and under-18s " +
      "cannot talk privately.",
    fr_minor:
      "Cette conversation privée n'est pas possible : pour vous protéger, les adultes et les " +
      "moins de 18 ans ne peuvent pas discuter en privé. Ce n'est pas de votre faute ; vous " +
      "pouvez toujours parler dans les salons ouverts à tous.",
    en_minor:
      "This private conversation is not possible: to keep you safe, adults and under-18s " +
      "cannot talk privately. It is not your fault; you can still talk in the rooms open to " +
      "everyone.",
  },
  conversation_frozen: {
    fr:
      "Cette conversation privée est en pause le temps que l'équipe de modération la vérifie, " +
      "pour protéger les mineurs. Vous ne pouvez pas y écrire pour l'instant.",
    en:
      "This private conversation is paused while the moderators check it, to protect minors. " +
      "You cannot write in it for now.",
    fr_minor:
      "Cette conversation est en pause : l'équipe de modération vérifie qu'elle est sans danger " +
      "pour vous. Ce n'est pas de votre faute. Si quelque chose vous a mis mal à l'aise, " +
      "parlez-en à un adulte de confiance ou appelez le 3018 (gratuit et anonyme).",
    en_minor:
      "This conversation is paused: the moderators are checking that it is safe for you. It is " +
      "not your fault. If something made you uncomfortable, talk to an adult you trust or call " +
      "3018 in France (free and anonymous).",
  },
  age_verification_required: {
    fr: "Cette fonction est réservée aux adultes dont l'âge a été vérifié.",
    en: "This feature is for adults whose age has been verified.",
    fr_minor:
      "Cette fonction est réservée aux adultes : pour vous protéger, elle n'est pas disponible " +
      "avant 18 ans.",
    en_minor: "This feature is for adults only: to keep you safe, it is not available under 18.",
  },
  age_verification_failed: {
    fr: "Votre âge n'a pas pu être vérifié avec cette preuve. Réessayez avec un nouveau jeton.",
    en: "Your age could not be checked with this proof. Try again with a new token.",
    fr_minor:
      "Vous avez indiqué avoir moins de 18 ans : cela reste ainsi, et les salons pour adultes " +
      "restent fermés. C'est une règle pour votre sécurité.",
    en_minor:
      "You told us you are under 18, so that stays: adult rooms remain closed. It is a rule " +
      "for your safety.",
  },
  minors_protected: {
    fr:
      "Ce message n'a pas été envoyé : des mineurs peuvent le lire, et les liens, photos, " +
      "coordonnées et invitations à se voir ou à continuer ailleurs ne leur sont pas adressés ici.",
    en:
      "This message was not sent: minors can read it, and links, photos, contact details and " +
      "invitations to meet or to move elsewhere may not be aimed at them here.",
  },
  contact_details_refused: {
    fr:
      "Ce message n'a pas été envoyé : pour votre sécurité, ne donnez ni numéro, ni adresse, ni " +
      "compte sur une autre appli, ni lieu de rendez-vous ici, car des adultes peuvent le lire.",
    en:
      "This message was not sent: for your safety, do not give your number, address, account " +
      "on another app or a place to meet here, because adults can read it.",
  },
  message_empty: {
    fr: "Le message est vide.",
    en: "The message is empty.",
  },
  message_too_long: {
    fr: "Ce message est trop long ({max} caractères au maximum).",
    en: "This message is too long ({max} characters at most).",
  },
  content_blocked: {
    fr: "Ce message n'a pas été envoyé : il enfreint les règles du site.",
    en: "This message was not sent: it breaks the site's rules.",
    detail: true,
  },
  muted: {
    fr: "Vous ne pouvez pas écrire pour le moment : vous êtes en sourdine après des messages contraires aux règles.",
    en: "You cannot write for now: you are muted after messages that broke the rules.",
    detail: true,
  },
  warned: {
    fr:
      "Votre message n'a pas été envoyé : il enfreint les règles du site. D'autres messages de " +
      "ce genre vous vaudront d'être mis·e en sourdine.",
    en:
      "Your message was not delivered: it breaks the site's rules. More messages like this " +
      "will get you muted.",
    detail: true,
  },
  held_for_review: {
    fr: "Votre message attend qu'une personne de la modération le vérifie avant d'être montré.",
    en: "Your message is waiting for a moderator to check it before it is shown.",
    detail: true,
  },
  kicked: {
    fr: "Vous avez été déconnecté·e : votre message enfreignait les règles du site.",
    en: "You have been disconnected: your message broke the site's rules.",
    detail: true,
  },
  banned: {
    fr: "Ce pseudo est exclu du site pour un temps, après des messages contraires aux règles.",
    en: "This nickname is banned from the site for a while, after messages that broke the rules.",
    detail: true,
  },
  rate_limited_messages: {
    fr: "Vous écrivez trop vite.",
    en: "You are writing too fast.",
    retry: true,
  },
  rate_limited_joins: {
    fr: "Vous rejoignez trop de salons à la fois.",
    en: "You are joining too many rooms at once.",
    retry: true,
  },
  rate_limited_conversations: {
    fr: "Vous ouvrez trop de nouvelles conversations privées.",
    en: "You are opening too many new private conversations.",
    retry: true,
  },
  rate_limited_frames: {
    fr: "Trop d'actions en peu de temps.",
    en: "Too many actions in a short time.",
    retry: true,
  },
  internal_error: {
    fr: "Le serveur a eu un problème ; rien n'a été envoyé. Réessayez.",
    en: "The server had a problem; nothing was sent. Try again.",
  },
  shutting_down: {
    fr: "Le serveur redémarre. Reconnexion dans un instant…",
    en: "The server is restarting. Reconnecting in a moment…",
  },
  slow_consumer: {
    fr: "La connexion était trop lente pour suivre les messages : elle a été coupée.",
    en: "The connection was too slow to keep up with the messages, so it was closed.",
  },
  too_many_errors: {
    fr: "Trop de demandes refusées à la suite : la connexion a été coupée. Rechargez la page.",
    en: "Too many refused requests in a row, so the connection was closed. Reload the page.",
  },
  origin_refused: {
    fr: "Cette page n'est pas celle du site : ouvrez causerie à son adresse habituelle.",
    en: "This page is not the site's own: open causerie at its usual address.",
  },
  too_many_connections: {
    fr: "Trop de connexions depuis votre réseau en ce moment. Fermez d'autres onglets puis réessayez.",
    en: "Too many connections from your network right now. Close other tabs, then try again.",
  },
  enter_timeout: {
    fr: "La connexion a attendu trop longtemps sans entrée sur le chat : elle a été fermée.",
    en: "The connection waited too long without entering the chat, so it was closed.",
  },
  ignore_list_full: {
    fr: "Vous ignorez déjà le nombre maximum de personnes. Ne plus en ignorer une pour en ajouter une autre.",
    en: "You already ignore as many people as you can. Stop ignoring someone to add another.",
  },
  rate_limited_lists: {
    fr: "Trop de demandes de listes en peu de temps.",
    en: "Too many list requests in a short time.",
    retry: true,
  },
  photo_too_large: {
    fr: "Cette photo est trop lourde. Choisissez-en une plus petite.",
    en: "This photo is too large. Choose a smaller one.",
  },
  photo_empty: {
    fr: "Le fichier de la photo est vide.",
    en: "The photo file is empty.",
  },
  photo_format_unsupported: {
    fr: "Ce format de photo n'est pas accepté : envoyez un JPEG, un PNG, un WebP ou un GIF.",
    en: "This photo format is not accepted: send a JPEG, PNG, WebP or GIF.",
  },
  photo_corrupt: {
    fr: "Cette photo est abîmée et ne peut pas être lue.",
    en: "This photo is damaged and cannot be read.",
  },
  photo_polyglot: {
    fr: "Ce fichier n'est pas seulement une photo : il n'est pas accepté.",
    en: "This file is not only a photo, so it is not accepted.",
  },
  photo_dimensions: {
    fr: "Cette photo est trop grande en pixels, ou bien trop allongée.",
    en: "This photo is too big in pixels, or far too long and thin.",
  },
  photo_bomb: {
    fr: "Ce fichier est refusé : il se décompresse en une image démesurée.",
    en: "This file is refused: it unpacks into an enormous image.",
  },
  photo_not_here: {
    fr: "Pas de photos ici : des moins de 18 ans et des adultes lisent ce salon.",
    en: "No photos here: people under 18 and adults both read this room.",
    fr_minor: "Pas de photos ici, pour votre protection : des adultes lisent aussi ce salon.",
    en_minor: "No photos here, for your protection: adults read this room too.",
  },
  photo_refused: {
    fr: "Cette photo n'a pas été envoyée.",
    en: "This photo was not sent.",
  },
  photo_not_expected: {
    fr: "La photo est arrivée trop tard. Réessayez de l'envoyer.",
    en: "The photo arrived too late. Try sending it again.",
  },
  photos_disabled: {
    fr: "L'envoi de photos n'est pas ouvert sur ce site.",
    en: "Sending photos is not open on this site.",
  },
  session_resumed: {
    fr: "Cette session continue dans une autre fenêtre ou connexion.",
    en: "This session goes on in another window or connection.",
  },
  resume_refused: {
    fr: "Votre session précédente a expiré : entrez à nouveau.",
    en: "Your previous session has expired: please enter again.",
  },
  report_target_not_found: {
    fr: "Ce que vous signalez n'existe plus ou n'est plus visible.",
    en: "What you are reporting no longer exists or is no longer visible.",
  },
  rate_limited_reports: {
    fr: "Vous avez envoyé beaucoup de signalements d'un coup.",
    en: "You have sent many reports at once.",
    retry: true,
  },
  statement_not_found: {
    fr: "Cette décision n'existe pas ou ne vous concerne pas.",
    en: "This decision does not exist or does not concern you.",
  },
  appeal_closed: {
    fr: "Le délai pour contester cette décision (six mois) est passé.",
    en: "The time to appeal this decision (six months) has passed.",
  },
  already_appealed: {
    fr: "Vous avez déjà contesté cette décision : la réponse viendra ici.",
    en: "You have already appealed this decision: the answer will come here.",
  },
  not_appealable: {
    fr: "Cette décision est définitive sur causerie ; un règlement extrajudiciaire reste possible.",
    en: "This decision is final on causerie; out-of-court settlement remains possible.",
  },
  nickname_reserved: {
    fr: "Ce pseudo est réservé (équipe du site, autorités) ou lui ressemble trop. Choisissez-en un autre.",
    en: "This nickname is reserved (site staff, authorities) or looks too much like one. Choose another one.",
  },
};

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && saved in STRINGS) return saved;
  } catch {
    // Storage can be disabled (private mode, strict settings): fall back to the browser.
  }
  const wanted = (navigator.languages || [navigator.language || "fr"]).map((l) => l.slice(0, 2));
  return wanted.find((l) => l in STRINGS) || "fr";
}

let current = detect();
const listeners = new Set();

export function language() {
  return current;
}

export function setLanguage(lang) {
  if (!(lang in STRINGS) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered; still switched for this page.
  }
  document.documentElement.lang = lang;
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    vars && name in vars ? String(vars[name]) : whole,
  );
}

export function categoryName(category) {
  return CATEGORY_NAMES[current]?.[category] ?? category;
}

export const CATEGORIES = () => Object.keys(CATEGORY_NAMES.fr);

/**
 * The English names and topics of the shipped rooms.toml ([English name, French topic as
 * shipped, English topic]), used only while the server does not send `name_en` / `topic_en`
 * itself: the server's words win, and an operator's own rooms are translated in their rooms file.
 */
const ROOMS_EN = {
  "general": ["General", "On discute de tout, dans le respect de chacun.", "Chat about anything, with respect for everyone."],
  "amitie": ["Friendship", "Se faire des amis, parler de tout et de rien.", "Make friends, talk about everything and nothing."],
  "musique": ["Music", "Concerts, découvertes, playlists.", "Gigs, discoveries, playlists."],
  "jeux-video": ["Video games", "Consoles, PC, mobile : à quoi jouez-vous ?", "Consoles, PC, mobile: what are you playing?"],
  "sport": ["Sport", "Foot, rugby, course, vélo et le reste.", "Football, rugby, running, cycling and the rest."],
  "cinema": ["Cinema", "Films, séries, critiques (sans divulgâcher).", "Films, series, reviews (no spoilers)."],
  "etudes": ["Study and work", "Examens, orientation, premier emploi.", "Exams, career choices, first job."],
  "ados": ["Teens 13-17", "Entre ados seulement : les adultes n'y ont pas accès.", "Teens only: adults cannot get in."],
  "18-25-ans": ["18-25", "", ""],
  "25-40-ans": ["25-40", "", ""],
  "plus-de-40-ans": ["Over 40", "", ""],
  "rencontres": ["Dating", "Entre adultes, avec respect.", "Between adults, with respect."],
};

/** A room's name and topic in the reader's language. */
export function roomWords(room) {
  if (!room) return { name: "", topic: "" };
  const topic = room.topic || "";
  if (current !== "en") return { name: room.name, topic };
  const shipped = room.kind === "themed" ? ROOMS_EN[room.id] : undefined;
  return {
    name: room.name_en || shipped?.[0] || room.name,
    // A topic a host changed is theirs: shown as written.
    topic: room.topic_en || (shipped && topic === shipped[1] ? shipped[2] : topic),
  };
}

export function t(key, vars) {
  const template = STRINGS[current][key] ?? STRINGS.fr[key] ?? key;
  return fill(template, vars);
}

/** The safety policy's categories (src/causerie/safety/categories.py), as a reader says them. */
const CATEGORY_NAMES = {
  fr: {
    child_safety: "protection des mineurs",
    sexual: "contenu sexuel",
    solicitation: "racolage",
    drugs: "drogues",
    weapons: "armes",
    violence: "menaces et violence",
    harassment: "harcèlement",
    personal_data: "données personnelles",
    off_platform: "invitation vers une autre application",
    spam: "spam ou publicité",
    hate: "haine envers un groupe de personnes",
    non_consent: "absence de consentement",
    ambush: "guet-apens",
    scam: "arnaque",
    doxxing: "informations permettant de retrouver quelqu'un",
  },
  en: {
    child_safety: "child safety",
    sexual: "sexual content",
    solicitation: "solicitation",
    drugs: "drugs",
    weapons: "weapons",
    violence: "threats and violence",
    harassment: "harassment",
    personal_data: "personal data",
    off_platform: "moving to another app",
    spam: "spam or advertising",
    hate: "hate against a group of people",
    non_consent: "lack of consent",
    ambush: "luring someone into an ambush",
    scam: "scam",
    doxxing: "details that let someone be found",
  },
};

/**
 * The sentence to show for an `error` frame.
 * `context.minor` picks the wording for an under-18; `context.maxChars` fills message limits.
 */
export function errorText(frame, context = {}) {
  const entry = ERRORS[frame.code];
  if (!entry) return frame.message || frame.code;
  const lang = current;
  if (entry.detail && lang === "en" && frame.message) return frame.message;
  let sentence = (context.minor && entry[`${lang}_minor`]) || entry[lang];
  sentence = fill(sentence, { max: context.maxChars ?? 1000 });
  const category = CATEGORY_NAMES[lang]?.[frame.category];
  if (entry.detail && category) sentence += ` (${category})`;
  if (entry.retry) {
    const wait = Number(frame.retry_after);
    sentence +=
      " " +
      (Number.isFinite(wait) && wait > 0
        ? t("time.retry_seconds", { s: Math.max(1, Math.ceil(wait)) })
        : t("time.retry_later"));
  }
  return sentence;
}

/** Fill every element marked with data-i18n (text), data-i18n-placeholder or -aria-label. */
export function translatePage(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined;
    el.textContent = t(el.dataset.i18n, vars);
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}

/** Set an element's text to a translated string that follows later language switches. */
export function translated(el, key, vars) {
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  el.textContent = t(key, vars);
  return el;
}
