"""Writes the publishing metadata of every package under packages/ (run once; kept for reference)."""
import json, os, shutil
REPO = "https://github.com/ws-toolkit/ws-toolkit"
for name in sorted(os.listdir("packages")):
    p = f"packages/{name}/package.json"
    d = json.load(open(p))
    exports = d["exports"]
    # the published exports: no @ws/source condition (that one is for the workspace only)
    published = {}
    for sub, target in exports.items():
        if isinstance(target, dict):
            published[sub] = {k: v for k, v in target.items() if k != "@ws/source"}
        else:
            published[sub] = target
    main = published["."]
    d["license"] = "MIT"
    d["repository"] = {"type": "git", "url": f"git+{REPO}.git", "directory": f"packages/{name}"}
    d["homepage"] = f"{REPO}/tree/main/packages/{name}#readme"
    d["bugs"] = {"url": f"{REPO}/issues"}
    d["engines"] = {"node": ">=20.19"}
    d["sideEffects"] = False
    d["main"] = main["default"]
    if "types" in main:
        d["types"] = main["types"]
    subs = {sub[2:]: [t["types"]] for sub, t in published.items() if sub != "." and isinstance(t, dict) and "types" in t}
    if subs:
        d["typesVersions"] = {"*": subs}
    files = [f for f in d.get("files", []) if f != "src"]
    for f in ["dist", "README.md", "LICENSE"]:
        if f not in files:
            files.append(f)
    d["files"] = files
    d["publishConfig"] = {"access": "public", "exports": published}
    order = ["name", "version", "description", "type", "license", "repository", "homepage", "bugs", "engines",
             "sideEffects", "main", "types", "typesVersions", "exports", "files", "publishConfig"]
    out = {k: d[k] for k in order if k in d}
    out.update({k: v for k, v in d.items() if k not in out})
    json.dump(out, open(p, "w"), indent=2)
    open(p, "a").write("\n")
    shutil.copy("LICENSE", f"packages/{name}/LICENSE")
    print(name, "ok")
