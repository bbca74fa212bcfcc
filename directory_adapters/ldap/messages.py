"""The LDAP adapter's words (French, English): what a read was doing, why it failed.

Registered on import; `adapter.py`, `channel.py`, `census.py`, `write_check.py` and
`write.py` use them.
"""

from core.i18n import register

register(
    {
        "dir.ldap.describe": (
            "LDAP {urls} (base {bases}) en tant que {who}{tls}",
            "LDAP {urls} (base {bases}) as {who}{tls}",
        ),
        "dir.ldap.anonymous": ("anonyme", "anonymous"),
        "dir.ldap.unencrypted": (", non chiffré", ", unencrypted"),
        # what a search was doing, in the messages below ("while ...")
        "dir.ldap.what.naming_contexts": (
            "en lisant les contextes de nommage du serveur",
            "reading the server's naming contexts",
        ),
        "dir.ldap.what.structure_of": (
            "en cherchant l'entrée de structure de {uai}",
            "looking for the structure entry of {uai}",
        ),
        "dir.ldap.what.structure": ("en lisant la structure {dn}", "reading the structure {dn}"),
        "dir.ldap.what.student": ("en lisant l'élève {dn}", "reading the student {dn}"),
        "dir.ldap.what.listing": (
            "en listant les comptes de {uai}",
            "listing the accounts of {uai}",
        ),
        "dir.ldap.what.account": ("en lisant le compte {login}", "reading the account {login}"),
        "dir.ldap.what.holders": (
            "en cherchant les porteurs de {value}",
            "looking for the holders of {value}",
        ),
        "dir.ldap.what.search": ("en cherchant {text!r}", "searching for {text!r}"),
        "dir.ldap.what.unusable": (
            "en cherchant les entrées inutilisables sous {base}",
            "looking for unusable entries under {base}",
        ),
        "dir.ldap.what.counting": (
            "en comptant les comptes sous {base}",
            "counting the accounts under {base}",
        ),
        "dir.ldap.what.sample": (
            "en cherchant un compte exemple",
            "looking for a sample account",
        ),
        "dir.ldap.what.before_check": (
            "en lisant {dn} avant la vérification d'écriture",
            "reading {dn} before the write check",
        ),
        "dir.ldap.what.check": (
            "en vérifiant le droit d'écriture sur {dn}",
            "checking the write access on {dn}",
        ),
        # reading
        "dir.ldap.error": ("erreur LDAP {what} : {error}", "LDAP error while {what}: {error}"),
        "dir.ldap.no_answer": (
            "{url} n'a pas répondu en {seconds} s {what}",
            "{url} did not answer within {seconds} s while {what}",
        ),
        "dir.ldap.no_answer_hint": (
            "le serveur est peut-être surchargé ; augmentez [directory.ldap] timeout (ou "
            "receive_timeout, pour les réponses seulement)",
            "the server may be overloaded; raise [directory.ldap] timeout (or receive_timeout, "
            "for the answers only)",
        ),
        "dir.ldap.lost": (
            "connexion perdue avec {url} {what} ({error})",
            "lost the connection to {url} while {what} ({error})",
        ),
        "dir.ldap.lost_hint": (
            "vérifiez que le serveur fonctionne, puis réessayez",
            "check that the server runs, then try again",
        ),
        "dir.ldap.size_limit": (
            "{url} s'est arrêté après {count} entrées {what} : limite de taille du serveur "
            "atteinte (size limit) ({words})",
            "{url} stopped after {count} entries while {what}: size limit exceeded ({words})",
        ),
        "dir.ldap.size_limit_hint": (
            "augmentez [directory.ldap] size_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites de taille (size) du serveur pour {who} "
            "(OpenLDAP : limits dn.exact=... size.prtotal=unlimited)",
            "raise [directory.ldap] size_limit, or ask the directory admin to lift the "
            "server's size limits for {who} (OpenLDAP: limits dn.exact=... "
            "size.prtotal=unlimited)",
        ),
        "dir.ldap.time_limit": (
            "{url} s'est arrêté après {count} entrées {what} : limite de temps du serveur "
            "atteinte (time limit) ({words})",
            "{url} stopped after {count} entries while {what}: time limit exceeded ({words})",
        ),
        "dir.ldap.time_limit_hint": (
            "augmentez [directory.ldap] time_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites de temps (time) du serveur pour {who} "
            "(OpenLDAP : limits dn.exact=... size.prtotal=unlimited)",
            "raise [directory.ldap] time_limit, or ask the directory admin to lift the "
            "server's time limits for {who} (OpenLDAP: limits dn.exact=... "
            "size.prtotal=unlimited)",
        ),
        "dir.ldap.no_base": (
            "la base de recherche {base!r} n'existe pas sur {url}",
            "the search base {base!r} does not exist on {url}",
        ),
        "dir.ldap.no_base_hint": (
            "vérifiez [directory.ldap] base_dn",
            "check [directory.ldap] base_dn",
        ),
        "dir.ldap.no_read_access": (
            "{who} ne peut pas lire {base} {what} : droits insuffisants (insufficient access)",
            "{who} may not read {base} while {what}: insufficient access",
        ),
        "dir.ldap.no_read_access_hint": (
            "demandez à l'administrateur de l'annuaire le droit de lecture sur les attributs "
            "des comptes",
            "ask the directory admin for read access to the accounts' attributes",
        ),
        "dir.ldap.search_refused": (
            "{url} a refusé la recherche {what} : {words}",
            "{url} refused the search while {what}: {words}",
        ),
        "dir.ldap.no_uai_attribute": (
            "aucun attribut d'établissement n'est défini",
            "no establishment attribute is mapped",
        ),
        "dir.ldap.no_uai_attribute_hint": (
            "renseignez [directory.fields] uai dans config.toml",
            "set [directory.fields] uai in config.toml",
        ),
        # census
        "dir.ldap.unresolved.one": (
            "{count} nom d'établissement ne correspond à aucune entrée avec {attribute} "
            "(compté sous son DN), par ex. {example}",
            "{count} establishment names no entry with {attribute} (counted under its DN), "
            "e.g. {example}",
        ),
        "dir.ldap.unresolved.many": (
            "{count} noms d'établissement ne correspondent à aucune entrée avec {attribute} "
            "(comptés sous leur DN), par ex. {example}",
            "{count} establishments name no entry with {attribute} (counted under its DN), "
            "e.g. {example}",
        ),
        "dir.ldap.count_stopped": (
            "le serveur a arrêté le comptage après {seen} entrées ({stopped}) : augmentez "
            "[directory.ldap] size_limit ou time_limit, ou demandez à l'administrateur de "
            "l'annuaire de lever les limites du serveur pour {who}",
            "the server stopped the count after {seen} entries ({stopped}): "
            "raise [directory.ldap] size_limit or time_limit, or ask the directory admin "
            "to lift the server's limits for {who}",
        ),
        # the write check
        "dir.ldap.check.no_account": (
            "aucun compte trouvé sur lequel vérifier le droit d'écriture",
            "no account was found to check the write access on",
        ),
        "dir.ldap.check.unreadable": (
            "l'entrée {dn} n'a pas pu être lue",
            "the entry {dn} could not be read",
        ),
        "dir.ldap.check.writable_with_class": (
            "{who} peut écrire {attribute}, et objectClass pour ajouter {object_class} "
            "(vérifié sur {dn} ; rien n'a été modifié)",
            "{who} may write {attribute}, and objectClass to add {object_class} "
            "(checked on {dn}; nothing was changed)",
        ),
        "dir.ldap.check.no_object_class": (
            "{who} peut écrire {attribute} mais pas objectClass, ce qui est nécessaire pour "
            "ajouter {object_class} aux entrées qui ne l'ont pas (comme {dn}) ; demandez le "
            'droit d\'écriture sur objectClass, ou mettez [directory.identifier] object_class = "" '
            "si les entrées acceptent déjà l'attribut",
            "{who} may write {attribute} but not objectClass, which it must to add "
            "{object_class} to entries that lack it (as {dn}); ask for write access to "
            'objectClass, or set [directory.identifier] object_class = "" if the '
            "entries allow the attribute already",
        ),
        "dir.ldap.check.class_refused": (
            "le serveur a refusé la vérification d'objectClass sur {dn} : {words}",
            "the server refused the objectClass check on {dn}: {words}",
        ),
        "dir.ldap.check.every_value": (
            "l'entrée porte toutes les valeurs que la vérification d'écriture pourrait utiliser",
            "the entry holds every value the write check could use",
        ),
        "dir.ldap.check.writable": (
            "{who} peut écrire {attribute} (vérifié sur {dn} ; rien n'a été modifié)",
            "{who} may write {attribute} (checked on {dn}; nothing was changed)",
        ),
        "dir.ldap.check.read_only": (
            "{who} ne peut pas écrire {attribute} sur {dn} : droits insuffisants "
            "(insufficient access)",
            "{who} may not write {attribute} on {dn}: insufficient access",
        ),
        "dir.ldap.check.fix_bind_dn": (
            "renseignez [directory.ldap] bind_dn avec un compte autorisé à écrire",
            "set [directory.ldap] bind_dn to an account allowed to write",
        ),
        "dir.ldap.check.fix_tls": (
            "utilisez ldaps:// ou start_tls = true",
            "use ldaps:// or start_tls = true",
        ),
        "dir.ldap.check.stronger_auth": (
            "{who} ne peut pas écrire {attribute} sur {dn} : {words} ; {fix}",
            "{who} may not write {attribute} on {dn}: {words}; {fix}",
        ),
        "dir.ldap.check.referral": (
            "{url} a renvoyé l'écriture ailleurs (un referral : un réplica en lecture seule) ; "
            "faites pointer [directory.ldap] url vers le serveur qui accepte les écritures",
            "{url} sent the write elsewhere (a referral: a "
            "read-only replica); point [directory.ldap] url at the server that takes writes",
        ),
        "dir.ldap.check.unknown_attribute": (
            "le serveur ne connaît pas l'attribut {attribute} ({words}) ; chargez le schéma "
            "d'idpronote (directory_adapters/schema/README.md) ou choisissez un autre "
            "attribut dans [directory.identifier]",
            "the server does not know the attribute {attribute} ({words}); load "
            "idpronote's schema (directory_adapters/schema/README.md) or map another "
            "attribute in [directory.identifier]",
        ),
        "dir.ldap.check.refused": (
            "le serveur a refusé la vérification d'écriture sur {dn} : {words}",
            "the server refused the write check on {dn}: {words}",
        ),
    }
)

# What a write says of each change (write.py).
register(
    {
        "dir.ldap_write.not_attempted": (
            "non tenté : {error}",
            "not attempted: {error}",
        ),
        "dir.ldap_write.what.root_dse": (
            "en lisant les contrôles que le serveur propose (rootDSE)",
            "reading the controls the server offers (rootDSE)",
        ),
        "dir.ldap_write.nothing_to_write": ("rien à écrire", "nothing to write"),
        "dir.ldap_write.several_entries": (
            "plusieurs entrées ont l'identifiant de connexion {login!r} ({dns}) ; "
            "rien n'est écrit, l'annuaire doit d'abord être corrigé",
            "several entries have the login {login!r} ({dns}); "
            "nothing written, the directory must be fixed first",
        ),
        "dir.ldap_write.broke_earlier": (
            "la connexion a été coupée plus tôt dans le lot : {why}",
            "the connection broke earlier in the batch: {why}",
        ),
        "dir.ldap_write.not_sent": (
            "non envoyé ({error}) ; rien n'est écrit",
            "not sent ({error}); nothing written",
        ),
        "dir.ldap_write.confirmed": ("le serveur l'a confirmé", "the server confirmed it"),
        "dir.ldap_write.no_answer": ("aucune réponse", "no answer came"),
        "dir.ldap_write.not_read_back": (
            "envoyé ({said}) mais impossible à relire : {lost} ; relancez le même import, "
            "il signale comme tels les changements déjà faits",
            "sent ({said}) but it could not be read back: {lost}; run the same import "
            "again, it reports the changes already made as such",
        ),
        "dir.ldap_write.answer_lost": (
            "la réponse du serveur a été perdue ; relu : écrit",
            "the server's answer was lost; read back: written",
        ),
        "dir.ldap_write.broke_before_answer": (
            "non écrit : la connexion a été coupée avant la réponse ({error})",
            "not written: the connection broke before an answer ({error})",
        ),
        "dir.ldap_write.nothing": ("rien", "nothing"),
        "dir.ldap_write.changed_meanwhile": (
            "le serveur a accepté l'écriture, mais {login} porte maintenant {found} pour "
            "{uai} : modifié par quelqu'un d'autre entre-temps ; relancez le rapprochement",
            "the server accepted the write, but {login} now stores {found} for "
            "{uai}: changed by someone else meanwhile; match again",
        ),
        "dir.ldap_write.changed_while_writing": (
            "les identifiants de {login} ont changé pendant l'écriture ({words}) ; "
            "relancez le rapprochement",
            "the identifiers of {login} changed while writing ({words}); match again",
        ),
        "dir.ldap_write.entry_gone": (
            "l'entrée {dn} n'existe plus",
            "the entry {dn} no longer exists",
        ),
        "dir.ldap_write.anonymous": ("anonyme", "anonymous"),
        "dir.ldap_write.insufficient_access": (
            "droits insuffisants (insufficient access) : {who} ne peut pas écrire "
            "{attribute} sur {dn} ; l'administrateur de l'annuaire doit lui donner le "
            "droit d'écriture sur {attribute}",
            "insufficient access: {who} may not write {attribute} on {dn}; "
            "the directory admin must grant it write access to {attribute}",
        ),
        "dir.ldap_write.insufficient_access_class": (
            "droits insuffisants (insufficient access) : {who} ne peut pas écrire "
            "{attribute} sur {dn} ; l'administrateur de l'annuaire doit lui donner le "
            "droit d'écriture sur {attribute} et objectClass",
            "insufficient access: {who} may not write {attribute} on {dn}; "
            "the directory admin must grant it write access to {attribute} and objectClass",
        ),
        "dir.ldap_write.object_class_violation": (
            "les classes d'objet de {dn} n'autorisent pas {attribute} ({words}) ; "
            "renseignez [directory.identifier] object_class (par ex. entPronoteAccount) "
            "dans config.toml",
            "the object classes of {dn} do not allow {attribute} ({words}); "
            "set [directory.identifier] object_class (e.g. entPronoteAccount) in config.toml",
        ),
        "dir.ldap_write.or_class": (
            "{attribute} ou {object_class}",
            "{attribute} or {object_class}",
        ),
        "dir.ldap_write.not_accepted": (
            "le serveur n'accepte pas {unknown} sur {dn} ({words}) ; chargez le schéma "
            "d'idpronote (directory_adapters/schema/README.md) ou choisissez un autre attribut",
            "the server does not accept {unknown} on {dn} ({words}); load "
            "idpronote's schema (directory_adapters/schema/README.md) or map another one",
        ),
        "dir.ldap_write.refused": (
            "le serveur a refusé d'écrire {dn} : {words}",
            "the server refused to write {dn}: {words}",
        ),
    }
)

# The directory's lock entries (lock.py), and the provider in a description (adapter.py).
register(
    {
        "lock.directory_held": (
            "l'établissement {uai} est en cours d'import par {user} sur {host} (processus {pid}) "
            "depuis {since}, verrou {where} tenu jusqu'au {until} ; attendez la fin de cet import "
            "(un verrou non renouvelé expire à cette heure-là)",
            "establishment {uai} is being imported by {user} on {host} (process {pid}) since "
            "{since}, lock {where} held until {until}; wait until that import ends (a lock "
            "not renewed expires then)",
        ),
        "lock.lost": (
            "le verrou {where} n'est plus celui de cette session (tenu maintenant par {user} sur "
            "{host}, session {session}) : rien de plus n'est écrit ; la session pourra être "
            "reprise (idpronote apply --resume) une fois l'autre terminée",
            "lock {where} is no longer this session's (now held by {user} on {host}, session "
            "{session}): nothing more is written; the session can be resumed (idpronote apply "
            "--resume) once the other one is over",
        ),
        "lock.no_container": (
            "le conteneur des verrous {base} n'existe pas dans l'annuaire",
            "the locks' container {base} does not exist in the directory",
        ),
        "lock.no_access": (
            "{who} ne peut pas écrire de verrou sous {base} (droits insuffisants)",
            "{who} may not write a lock under {base} (insufficient access)",
        ),
        "lock.refused": (
            "le serveur a refusé le verrou {dn} : {words}",
            "the server refused the lock {dn}: {words}",
        ),
        "lock.unreachable": (
            "le verrou {dn} n'a pas pu être lu ou écrit : {error}",
            "the lock {dn} could not be read or written: {error}",
        ),
        "lock.invalid_uai": (
            "{uai} n'est pas un code UAI : pas de verrou pour lui",
            "{uai} is not a UAI: no lock for it",
        ),
        "dir.ldap.describe_provider": (
            "{urls} (écritures : {provider})",
            "{urls} (writes: {provider})",
        ),
    }
)
