-- AlterTable
ALTER TABLE "CertificateAuthority" ADD COLUMN     "keyRef" TEXT;
