/**
 * An SPDX 2.3 JSON software bill of materials for an image: every Debian package in it and every npm
 * package whose code it carries (bundled into the programs, or installed as a native module), each
 * with a package URL. Deterministic: its namespace and creation time derive from the image digest
 * and SOURCE_DATE_EPOCH.
 */
import type { DebianPackage } from "./debian.js";
import { canonicalJson } from "./oci.js";
import { DEBIAN_SUITE } from "./recipes.js";

export interface NpmPackage {
  name: string;
  version: string;
  license: string;
}

const spdxId = (kind: string, name: string): string => `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]/g, "-")}`;
const DEBIAN_VERSION = { trixie: "13" }[DEBIAN_SUITE] ?? DEBIAN_SUITE;

export function spdxDocument(image: { name: string; tag: string; digest: string }, debian: DebianPackage[], npm: NpmPackage[], epoch: number): string {
  const root = spdxId("Image", image.name);
  const packages = [
    {
      SPDXID: root,
      name: image.name,
      versionInfo: image.tag,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "Apache-2.0",
      copyrightText: "NOASSERTION",
      primaryPackagePurpose: "CONTAINER",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: `pkg:oci/${image.name}@${encodeURIComponent(image.digest)}?tag=${image.tag}`,
        },
      ],
    },
    ...debian.map((pkg) => ({
      SPDXID: spdxId("Debian", pkg.name),
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      supplier: "Organization: Debian",
      sourceInfo: `built from the Debian source package ${pkg.source}`,
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: `pkg:deb/debian/${pkg.name}@${encodeURIComponent(pkg.version)}?arch=${pkg.architecture}&distro=debian-${DEBIAN_VERSION}`,
        },
      ],
    })),
    ...npm.map((pkg) => ({
      SPDXID: spdxId("npm", pkg.name),
      name: pkg.name,
      versionInfo: pkg.version,
      downloadLocation: `https://registry.npmjs.org/${pkg.name}/-/${pkg.name.split("/").pop()}-${pkg.version}.tgz`,
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: pkg.license || "NOASSERTION",
      copyrightText: "NOASSERTION",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: `pkg:npm/${pkg.name.startsWith("@") ? `%40${pkg.name.slice(1)}` : pkg.name}@${pkg.version}`,
        },
      ],
    })),
  ];
  return `${JSON.stringify(
    JSON.parse(
      canonicalJson({
        spdxVersion: "SPDX-2.3",
        dataLicense: "CC0-1.0",
        SPDXID: "SPDXRef-DOCUMENT",
        name: `${image.name}-${image.tag}`,
        documentNamespace: `https://github.com/kubectl-kadalu/kubectl-kadalu/spdx/${image.name}/${image.digest.slice("sha256:".length)}`,
        creationInfo: { created: new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, "Z"), creators: ["Tool: kubectl-kadalu npm run images"] },
        documentDescribes: [root],
        packages,
        relationships: packages.slice(1).map((pkg) => ({ spdxElementId: root, relationshipType: "CONTAINS", relatedSpdxElement: pkg.SPDXID })),
      }),
    ),
    null,
    2,
  )}\n`;
}
